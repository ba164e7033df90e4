"""Names of stored values (status, priority, type, channel) in each language.

Tickets store their values in English (``on_hold``); pages show names. A list page shows
two badges per row and a timeline names values in every change it lists, so the names
are looked up in a table built once per language and kind, not translated per use.
Templates use ``label_of(kind, value)``, ``status_badge`` and ``priority_badge``
(``web/templating.py``); ``tickets/_labels.html`` has the rest of the page vocabulary.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from opora.kit import translations as i18n


def N_(message: str) -> str:
    """Marks a string for the catalog (``make i18n``) without translating it here."""
    return message


NAMES: dict[str, dict[str, str]] = {
    "status": {
        "new": N_("New"),
        "open": N_("Open"),
        "pending": N_("Pending"),
        "on_hold": N_("On hold"),
        "solved": N_("Solved"),
        "closed": N_("Closed"),
    },
    "priority": {
        "low": N_("Low"),
        "normal": N_("Normal"),
        "high": N_("High"),
        "urgent": N_("Urgent"),
    },
    "type": {
        "question": N_("Question"),
        "incident": N_("Incident"),
        "problem": N_("Problem"),
        "feature_request": N_("Feature request"),
        "complaint": N_("Complaint"),
        "task": N_("Task"),
        "callback": N_("Callback"),
    },
    "channel": {
        "api": N_("API"),
        "email": N_("Email"),
        "web": N_("Web"),
        "chat": N_("Chat"),
        "telegram": N_("Telegram"),
        "vk": N_("VK"),
        "phone": N_("Phone"),
        "agent": N_("By an agent"),
    },
}


@functools.cache
def table(lang: str, kind: str) -> Mapping[str, str]:
    """``{value: name}`` of one kind in ``lang`` (built once per process)."""
    translations = i18n.translations(lang)
    return {value: translations.gettext(name) for value, name in NAMES[kind].items()}


def label(lang: str, kind: str, value: str) -> str:
    """The name of ``value``; an unknown value is shown as it is stored."""
    return table(lang, kind).get(value, value)
