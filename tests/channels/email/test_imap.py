"""The IMAP client against a real, private Dovecot (tests/channels/email/dovecot.py), and its
pure parts (modified UTF-7, the search and flag decisions) on their own."""

from __future__ import annotations

import contextlib
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from opora.channels.email import imap
from opora.channels.email.imap import (
    KEYWORD,
    FetchedMessage,
    ImapConfig,
    ImapError,
    Processed,
    Security,
    check_mailbox,
    decode_mailbox,
    encode_mailbox,
    fetch_unprocessed,
    keywords_allowed,
    mark_processed,
    parse_permanent_flags,
    processed_flags,
    quote_mailbox,
    uid_set,
    unprocessed_criteria,
)
from tests.channels.email.dovecot import Dovecot, free_port, missing_reason, running_dovecot
from tests.conftest import skip_or_fail

SEEN = "\\Seen"


def mail(subject: str, body: bytes = b"Hello.") -> bytes:
    return (
        b"From: Carol <carol@acme.ru>\r\nTo: support@opora.dev\r\n"
        + f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@acme.ru>\r\n".encode()
        + b"\r\n"
        + body
        + b"\r\n"
    )


CP1251 = (
    b"From: =?windows-1251?b?yO7t4A==?= <anna@acme.ru>\r\n"
    b"Subject: 8bit\r\n"
    b"Content-Type: text/plain; charset=windows-1251\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n" + "Здравствуйте, принтер не печатает.\r\n\r\n-- \r\nАнна\r\n".encode("cp1251")
)


def make_config(dovecot: Dovecot, user: str, **changes: Any) -> ImapConfig:
    values: dict[str, Any] = {
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "security": Security.NONE,
        "username": user,
        "password": dovecot.users[user],
        "timeout_seconds": 5.0,
    }
    values.update(changes)
    return ImapConfig(**values)


@pytest.fixture
def box(dovecot: Dovecot) -> str:
    """An empty account of its own."""
    return dovecot.new_mailbox()[0]


# --- pure parts ------------------------------------------------------------------------------


class TestModifiedUtf7:
    @pytest.mark.parametrize(
        ("name", "wire"),
        [
            ("INBOX", "INBOX"),
            ("Входящие", "&BBIERQQ+BDQETwRJBDgENQ-"),
            ("Обработанные", "&BB4EMQRABDAEMQQ+BEIEMAQ9BD0ESwQ1-"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("&", "&-"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
        ],
    )
    def test_round_trips(self, name: str, wire: str) -> None:
        assert encode_mailbox(name) == wire
        assert decode_mailbox(wire) == name

    @pytest.mark.parametrize("wire", ["&BBIERQ", "&BB!-", "&A-"])
    def test_malformed_names_are_rejected(self, wire: str) -> None:
        with pytest.raises(ValueError):
            decode_mailbox(wire)

    def test_names_are_quoted_with_escapes(self) -> None:
        quoted = quote_mailbox('Say "hi" \\ Входящие')
        assert quoted == '"Say \\"hi\\" \\\\ &BBIERQQ+BDQETwRJBDgENQ-"'


class TestDecisions:
    def test_keywords_are_allowed_when_permanentflags_has_the_wildcard(self) -> None:
        flags = parse_permanent_flags(b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)")
        assert flags == ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*")
        assert keywords_allowed(flags)

    def test_keywords_are_not_allowed_without_the_wildcard(self) -> None:
        flags = parse_permanent_flags(b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        assert not keywords_allowed(flags)
        assert not keywords_allowed(parse_permanent_flags(b"()"))

    def test_our_keyword_listed_by_name_is_enough(self) -> None:
        assert keywords_allowed(parse_permanent_flags(b"(\\Seen $oporaprocessed)"))

    def test_no_permanentflags_response_means_every_flag_is_permanent(self) -> None:
        assert parse_permanent_flags(None) is None
        assert keywords_allowed(None)

    @pytest.mark.parametrize(
        ("processed", "keywords", "criteria", "flags"),
        [
            (Processed.FLAG, True, f"UNDELETED UNKEYWORD {KEYWORD}", f"(\\Seen {KEYWORD})"),
            (Processed.FLAG, False, "UNDELETED UNSEEN", "(\\Seen)"),
            (Processed.MOVE, True, "UNDELETED", None),
            (Processed.MOVE, False, "UNDELETED", None),
        ],
    )
    def test_search_and_marking_follow_the_mode(
        self, processed: Processed, keywords: bool, criteria: str, flags: str | None
    ) -> None:
        assert unprocessed_criteria(processed, keywords=keywords) == criteria
        if flags:
            assert processed_flags(keywords=keywords) == flags

    def test_uid_sets_are_compact_and_sorted(self) -> None:
        assert uid_set([10, 3, 1, 2, 7, 9, 2]) == "1:3,7,9:10"
        assert uid_set([5]) == "5"
        with pytest.raises(ValueError):
            uid_set([])

    def test_the_password_stays_out_of_repr(self) -> None:
        config = ImapConfig("h", 993, Security.SSL, "u", "hunter2-secret")
        assert "hunter2-secret" not in repr(config)


# --- against Dovecot -------------------------------------------------------------------------


@pytest.mark.dovecot
class TestConnection:
    @pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS, Security.NONE])
    async def test_connects_and_fetches(
        self, dovecot: Dovecot, box: str, security: Security
    ) -> None:
        dovecot.append(box, mail("over " + security))
        port = dovecot.imaps_port if security is Security.SSL else dovecot.imap_port
        config = make_config(dovecot, box, security=security, port=port, ca_file=dovecot.ca_file)
        [message] = await fetch_unprocessed(config)
        assert message.raw == mail("over " + security)

    @pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
    async def test_an_unknown_certificate_fails_verification_permanently(
        self, dovecot: Dovecot, box: str, security: Security
    ) -> None:
        port = dovecot.imaps_port if security is Security.SSL else dovecot.imap_port
        config = make_config(dovecot, box, security=security, port=port)
        with pytest.raises(ImapError, match="failed verification") as caught:
            await fetch_unprocessed(config)
        assert caught.value.permanent
        check = await check_mailbox(config)
        assert not check.ok
        assert "self-signed certificate" in check.message

    @pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
    async def test_verification_can_be_turned_off(
        self, dovecot: Dovecot, box: str, security: Security
    ) -> None:
        port = dovecot.imaps_port if security is Security.SSL else dovecot.imap_port
        config = make_config(dovecot, box, security=security, port=port, verify_certificate=False)
        assert (await check_mailbox(config)).ok

    async def test_a_wrong_password_is_permanent(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, password="not-the-password")
        with pytest.raises(ImapError) as caught:
            await fetch_unprocessed(config)
        assert caught.value.permanent
        check = await check_mailbox(config)
        assert not check.ok
        assert check.message.startswith(f"Login as {box} at 127.0.0.1:")
        assert "[AUTHENTICATIONFAILED]" in check.message
        assert "not-the-password" not in check.message

    async def test_a_non_ascii_password_with_quotes_logs_in(self, dovecot: Dovecot) -> None:
        assert '"' in dovecot.users["ivan"]
        check = await check_mailbox(make_config(dovecot, "ivan"))
        assert check.ok, check.message

    async def test_connection_refused_is_temporary(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, port=free_port())
        with pytest.raises(ImapError, match="Cannot connect") as caught:
            await fetch_unprocessed(config)
        assert not caught.value.permanent
        assert not (await check_mailbox(config)).ok

    async def test_a_silent_server_times_out_temporarily(self, dovecot: Dovecot, box: str) -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            config = make_config(dovecot, box, port=silent.getsockname()[1], timeout_seconds=0.3)
            with pytest.raises(ImapError, match="did not answer") as caught:
                await fetch_unprocessed(config)
        assert not caught.value.permanent

    async def test_tls_to_the_plain_port_is_permanent(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, security=Security.SSL, ca_file=dovecot.ca_file)
        with pytest.raises(ImapError, match="TLS handshake") as caught:
            await fetch_unprocessed(config)
        assert caught.value.permanent

    async def test_a_missing_folder_is_permanent(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, folder="Нет такой")
        with pytest.raises(ImapError, match="Cannot open folder 'Нет такой'") as caught:
            await fetch_unprocessed(config)
        assert caught.value.permanent


@pytest.mark.dovecot
class TestFetchUnprocessed:
    async def test_returns_the_exact_bytes_oldest_first(self, dovecot: Dovecot, box: str) -> None:
        sent = [mail("first"), CP1251, mail("third", "Ünïcödé ✓".encode())]
        uids = [dovecot.append(box, raw) for raw in sent]
        fetched = await fetch_unprocessed(make_config(dovecot, box))
        assert fetched == [FetchedMessage(uid, raw) for uid, raw in zip(uids, sent, strict=True)]
        assert uids == sorted(uids)

    async def test_honours_the_limit(self, dovecot: Dovecot, box: str) -> None:
        uids = [dovecot.append(box, mail(f"n{i}")) for i in range(5)]
        fetched = await fetch_unprocessed(make_config(dovecot, box), limit=2)
        assert [m.uid for m in fetched] == uids[:2]

    async def test_changes_no_flag(self, dovecot: Dovecot, box: str) -> None:
        dovecot.append(box, mail("unread"))
        await fetch_unprocessed(make_config(dovecot, box))
        [stored] = dovecot.messages(box)
        assert SEEN not in stored.flags
        assert KEYWORD not in stored.flags

    async def test_skips_deleted_messages(self, dovecot: Dovecot, box: str) -> None:
        deleted = dovecot.append(box, mail("deleted"), flags="\\Deleted")
        kept = dovecot.append(box, mail("kept"))
        fetched = await fetch_unprocessed(make_config(dovecot, box))
        assert [m.uid for m in fetched] == [kept]
        assert deleted != kept

    async def test_skips_a_message_the_server_cannot_return(
        self, dovecot: Dovecot, box: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        uids = [dovecot.append(box, mail(f"m{i}")) for i in range(3)]
        dovecot.message_file(box, uids[1]).chmod(0)  # Dovecot's mail user cannot read it
        with caplog.at_level(logging.WARNING, logger=imap.__name__):
            fetched = await fetch_unprocessed(make_config(dovecot, box), limit=2)
        # Dovecot says BYE on the unreadable file: the client reconnects for the third
        assert [m.uid for m in fetched] == [uids[0], uids[2]]
        assert f"fetching UID {uids[1]}" in caplog.text

    async def test_skips_a_message_gone_since_the_search(
        self, dovecot: Dovecot, box: str, caplog: pytest.LogCaptureFixture, monkeypatch: Any
    ) -> None:
        uid = dovecot.append(box, mail("here"))
        real = imap._search
        monkeypatch.setattr(imap, "_search", lambda *args: [*real(*args), uid + 100])
        with caplog.at_level(logging.WARNING, logger=imap.__name__):
            fetched = await fetch_unprocessed(make_config(dovecot, box))
        assert [m.uid for m in fetched] == [uid]
        assert f"UID {uid + 100} not returned" in caplog.text

    async def test_a_server_that_keeps_hanging_up_is_a_temporary_error(
        self, dovecot: Dovecot, box: str
    ) -> None:
        for i in range(imap.MAX_RECONNECTS + 1):
            uid = dovecot.append(box, mail(f"broken {i}"))
            dovecot.message_file(box, uid).chmod(0)
        with pytest.raises(ImapError, match="closed the connection") as caught:
            await fetch_unprocessed(make_config(dovecot, box))
        assert not caught.value.permanent


@pytest.mark.dovecot
class TestMarkProcessedWithFlags:
    async def test_marked_messages_are_seen_and_not_fetched_again(
        self, dovecot: Dovecot, box: str
    ) -> None:
        config = make_config(dovecot, box)
        uids = [dovecot.append(box, mail(f"m{i}")) for i in range(3)]
        await mark_processed(config, uids[:2])
        assert [m.uid for m in await fetch_unprocessed(config)] == [uids[2]]
        flags = {m.uid: m.flags for m in dovecot.messages(box)}
        assert {SEEN, KEYWORD} <= flags[uids[0]]
        assert {SEEN, KEYWORD} <= flags[uids[1]]
        assert not {SEEN, KEYWORD} & flags[uids[2]]

    async def test_a_message_read_in_a_mail_client_is_still_fetched(
        self, dovecot: Dovecot, box: str
    ) -> None:
        uid = dovecot.append(box, mail("read by a person"), flags=SEEN)
        assert [m.uid for m in await fetch_unprocessed(make_config(dovecot, box))] == [uid]

    async def test_works_on_a_cyrillic_folder(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, folder="Входящие")
        uid = dovecot.append(box, CP1251, folder="Входящие")
        assert await fetch_unprocessed(config) == [FetchedMessage(uid, CP1251)]
        await mark_processed(config, [uid])
        assert await fetch_unprocessed(config) == []

    async def test_no_uids_means_no_connection(self, dovecot: Dovecot, box: str) -> None:
        refused = make_config(dovecot, box, port=free_port())
        with pytest.raises(ImapError):
            await mark_processed(refused, [1])
        await mark_processed(refused, [])  # returns without connecting


@pytest.mark.dovecot
class TestMarkProcessedByMoving:
    async def test_moves_into_an_existing_folder(self, dovecot: Dovecot, box: str) -> None:
        dovecot.create_folder(box, "Done")
        config = make_config(dovecot, box, processed=Processed.MOVE, processed_folder="Done")
        uids = [dovecot.append(box, mail(f"m{i}"), flags=SEEN) for i in range(3)]
        assert [m.uid for m in await fetch_unprocessed(config)] == uids  # \Seen or not
        await mark_processed(config, uids[:2])
        assert [m.raw for m in dovecot.messages(box)] == [mail("m2")]
        assert [m.raw for m in dovecot.messages(box, "Done")] == [mail("m0"), mail("m1")]
        assert [m.uid for m in await fetch_unprocessed(config)] == [uids[2]]

    async def test_uids_already_moved_are_ignored(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, processed=Processed.MOVE)
        uid = dovecot.append(box, mail("once"))
        await mark_processed(config, [uid])
        await mark_processed(config, [uid])  # a retry after a crash
        assert dovecot.messages(box) == []
        assert [m.raw for m in dovecot.messages(box, "Processed")] == [mail("once")]

    async def test_creates_a_missing_cyrillic_folder(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(
            dovecot,
            box,
            folder="Входящие",
            processed=Processed.MOVE,
            processed_folder="Обработанные",
        )
        uid = dovecot.append(box, CP1251, folder="Входящие")
        assert "Обработанные" not in dovecot.folders(box)
        await mark_processed(config, [uid])
        assert "Обработанные" in dovecot.folders(box)
        assert dovecot.messages(box, "Входящие") == []
        assert [m.raw for m in dovecot.messages(box, "Обработанные")] == [CP1251]

    @pytest.mark.parametrize("missing", [("MOVE",), ("MOVE", "UIDPLUS")])
    async def test_copies_and_expunges_without_the_move_extension(
        self,
        dovecot: Dovecot,
        box: str,
        missing: tuple[str, ...],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        real = imap._capabilities

        def without(conn: Any) -> tuple[str, ...]:
            return tuple(c for c in real(conn) if c not in missing)

        monkeypatch.setattr(imap, "_capabilities", without)
        config = make_config(dovecot, box, processed=Processed.MOVE)
        uids = [dovecot.append(box, mail(f"m{i}")) for i in range(2)]
        await mark_processed(config, uids[:1])
        assert [m.raw for m in dovecot.messages(box)] == [mail("m1")]
        assert [m.raw for m in dovecot.messages(box, "Processed")] == [mail("m0")]

    async def test_the_processed_folder_must_differ(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box, processed=Processed.MOVE, processed_folder="INBOX")
        uid = dovecot.append(box, mail("stays"))
        with pytest.raises(ImapError, match="must differ") as caught:
            await mark_processed(config, [uid])
        assert caught.value.permanent
        assert not (await check_mailbox(config)).ok


@pytest.mark.dovecot
class TestCheckMailbox:
    async def test_counts_messages_and_unprocessed_ones(self, dovecot: Dovecot, box: str) -> None:
        config = make_config(dovecot, box)
        uids = [dovecot.append(box, mail(f"m{i}")) for i in range(3)]
        await mark_processed(config, uids[:1])
        check = await check_mailbox(config)
        assert check.ok
        assert check.message == "Connected; INBOX has 3 messages, 2 not yet processed"
        assert (check.total, check.unprocessed) == (3, 2)
        assert {"IMAP4REV1", "MOVE", "UIDPLUS"} <= set(check.capabilities)

    async def test_counts_in_move_mode(self, dovecot: Dovecot, box: str) -> None:
        dovecot.append(box, mail("one"), flags=SEEN)
        check = await check_mailbox(make_config(dovecot, box, processed=Processed.MOVE))
        assert check.message == "Connected; INBOX has 1 message, 1 not yet processed"


def _live_processes(pgid: int) -> list[int]:
    """The processes of a process group that have not exited (zombies have)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
            if int(pgrp) == pgid and state not in ("Z", "X"):
                found.append(int(stat.parent.name))
    return found


@pytest.mark.dovecot
def test_a_private_dovecot_stops_without_leftovers() -> None:
    if reason := missing_reason():
        skip_or_fail(reason)
    with running_dovecot({"solo": "solo-secret"}) as server:
        assert len(_live_processes(server.pid)) > 1  # the master and its children
        with server.connect("solo") as conn:
            assert conn.noop()[0] == "OK"
    assert _live_processes(server.pid) == []
    assert not server.root.exists()
