"""Email threading: pure decisions, no I/O.

A customer's reply finds its ticket by, in this order (``channels.email.service``):

1. ``In-Reply-To`` / ``References``: a Message-ID we sent (a reply, a notification) or
   took in earlier on a ticket (``reference_keys`` gives them, the most specific first);
2. the per-ticket reply address ``support+t123-1a2b3c4d5e@acme.ru`` (``Reply-To`` of all
   our mail about ticket 123), signed so that nobody can post to a ticket by guessing;
3. the ticket number in the subject (``[#123]``), only when the sender is already the
   ticket's requester or a follower (a number is easy to guess).

Our own Message-IDs look like ``opora.<ticket>.<random>@<mailbox domain>``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence

MAX_REFERENCES = 50
TOKEN_LENGTH = 10

SUBJECT_NUMBER = re.compile(r"\[#(\d{1,18})\]")
_REPLY_ADDRESS = re.compile(r"^(?P<base>.+)\+t(?P<number>\d{1,18})-(?P<sig>[0-9a-f]{10})$")
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|sv|vs|ha|отв|ответ|пересл)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def reference_keys(in_reply_to: Sequence[str], references: Sequence[str]) -> list[str]:
    """Message-IDs to look up: ``In-Reply-To`` first, then ``References`` newest first;
    de-duplicated, at most ``MAX_REFERENCES``."""
    seen: dict[str, None] = {}
    for key in [*in_reply_to, *reversed(references)]:
        key = key.strip().strip("<>").strip()
        if key and len(key) <= 998 and key not in seen:
            seen[key] = None
        if len(seen) >= MAX_REFERENCES:
            break
    return list(seen)


def subject_ticket_number(subject: str) -> int | None:
    """The number of ``[#123]`` in a subject (the last one, as replies append theirs)."""
    found = SUBJECT_NUMBER.findall(subject)
    return int(found[-1]) if found else None


def _token(secret: str, number: int) -> str:
    mac = hmac.new(secret.encode(), f"opora-reply:{number}".encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_LENGTH]


def reply_address(mailbox_address: str, number: int, secret: str) -> str:
    """``support@acme.ru`` → ``support+t123-1a2b3c4d5e@acme.ru`` for ticket 123."""
    local, _, domain = mailbox_address.rpartition("@")
    return f"{local}+t{number}-{_token(secret, number)}@{domain}"


def ticket_number_of_address(address: str, secret: str) -> tuple[str, int] | None:
    """For a reply address with a valid token: (the mailbox address, the ticket number)."""
    local, _, domain = address.strip().lower().rpartition("@")
    match = _REPLY_ADDRESS.match(local)
    if not match or not domain:
        return None
    number = int(match["number"])
    if not hmac.compare_digest(match["sig"], _token(secret, number)):
        return None
    return f"{match['base']}@{domain}", number


def base_address(address: str) -> str:
    """``support+anything@acme.ru`` → ``support@acme.ru`` (lower-case)."""
    local, _, domain = address.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if domain else address.strip().lower()


def new_message_key(number: int, domain: str) -> str:
    """A Message-ID of ours (without <>)."""
    return f"opora.{number}.{secrets.token_hex(8)}@{domain}"


def is_our_message_key(key: str, domains: Iterable[str]) -> bool:
    local, _, domain = key.rpartition("@")
    return local.startswith("opora.") and domain.lower() in {d.lower() for d in domains}


def reply_subject(subject: str, number: int) -> str:
    """``Re: <subject> [#123]``: one ``Re:``, one ticket tag."""
    bare = _REPLY_PREFIX.sub("", SUBJECT_NUMBER.sub("", subject)).strip()
    bare = " ".join(bare.split())
    return f"Re: {bare} [#{number}]" if bare else f"Re: [#{number}]"


def tagged_subject(subject: str, number: int) -> str:
    """``<subject> [#123]`` for the first mail about a ticket (a receipt)."""
    bare = " ".join(SUBJECT_NUMBER.sub("", subject).split())
    return f"{bare} [#{number}]" if bare else f"[#{number}]"


def guess_language(*texts: str) -> str:
    """``ru`` when the texts are mostly Cyrillic, else ``en`` (for a new contact)."""
    sample = " ".join(t[:2000] for t in texts)
    letters = sum(1 for ch in sample if ch.isalpha())
    cyrillic = len(_CYRILLIC.findall(sample))
    return "ru" if letters and cyrillic * 2 >= letters else "en"
