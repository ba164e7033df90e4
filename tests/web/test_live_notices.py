"""What one /live socket is told about one hub message (web/live.notice_for)."""

from __future__ import annotations

from opora.web.live import notice_for


def msg(name: str, **payload: object) -> dict[str, object]:
    return {"name": name, "payload": payload}


def test_the_inbox_socket_hears_only_that_something_changed() -> None:
    notice = notice_for(msg("message.created", ticket_id=7, by="user:2"), None, 1)
    assert notice == {"type": "tickets"}
    assert notice_for(msg("auth.changed"), None, 1) is None


def test_a_ticket_socket_hears_only_its_ticket_and_who_changed_it() -> None:
    assert notice_for(msg("ticket.updated", ticket_id=8, by="user:2"), 7, 1) is None
    theirs = notice_for(msg("ticket.updated", ticket_id=7, by="user:2"), 7, 1)
    assert theirs == {"type": "ticket", "event": "ticket.updated", "by": "user:2", "mine": False}
    mine = notice_for(msg("message.created", ticket_id=7, by="user:1"), 7, 1)
    assert mine is not None and mine["mine"] is True
    # a ticket merged into the watched one counts as a change of it
    merged = notice_for(msg("ticket.merged", ticket_id=9, into_id=7, by="user:2"), 7, 1)
    assert merged is not None and merged["event"] == "ticket.merged"
