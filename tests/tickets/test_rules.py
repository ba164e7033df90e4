"""Pure ticket rules: status transitions and support lines, table-driven. No I/O."""

from __future__ import annotations

import pytest

from opora.tickets import rules
from opora.tickets.models import TicketStatus as S

# every (old, new) pair an agent may make; everything else is refused
ALLOWED = {
    (S.NEW, S.OPEN), (S.NEW, S.PENDING), (S.NEW, S.ON_HOLD), (S.NEW, S.SOLVED),
    (S.NEW, S.CLOSED),
    (S.OPEN, S.PENDING), (S.OPEN, S.ON_HOLD), (S.OPEN, S.SOLVED), (S.OPEN, S.CLOSED),
    (S.PENDING, S.OPEN), (S.PENDING, S.ON_HOLD), (S.PENDING, S.SOLVED), (S.PENDING, S.CLOSED),
    (S.ON_HOLD, S.OPEN), (S.ON_HOLD, S.PENDING), (S.ON_HOLD, S.SOLVED), (S.ON_HOLD, S.CLOSED),
    (S.SOLVED, S.OPEN), (S.SOLVED, S.CLOSED),
}  # fmt: skip
PAIRS = [(old, new) for old in S for new in S if old != new]


class TestCanTransition:
    @pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o}->{n}" for o, n in PAIRS])
    def test_follows_the_transition_table(self, old: S, new: S) -> None:
        assert rules.can_transition(old, new) is ((old, new) in ALLOWED)

    @pytest.mark.parametrize("status", list(S))
    def test_staying_in_the_same_status_is_a_no_op_that_is_allowed(self, status: S) -> None:
        assert rules.can_transition(status, status) is True

    @pytest.mark.parametrize("new", [s for s in S if s != S.CLOSED])
    def test_a_closed_ticket_never_moves(self, new: S) -> None:
        assert rules.can_transition(S.CLOSED, new) is False

    @pytest.mark.parametrize("old", [s for s in S if s != S.NEW])
    def test_no_ticket_goes_back_to_new(self, old: S) -> None:
        assert rules.can_transition(old, S.NEW) is False

    def test_accepts_plain_strings_as_stored_in_the_database(self) -> None:
        assert rules.can_transition("solved", "open") is True
        assert rules.can_transition("solved", "pending") is False

    def test_an_unknown_status_is_an_error(self) -> None:
        with pytest.raises(ValueError):
            rules.can_transition("open", "archived")


class TestStatusAfterCustomerMessage:
    @pytest.mark.parametrize(
        ("before", "after"),
        [
            (S.NEW, S.NEW),
            (S.OPEN, S.OPEN),
            (S.PENDING, S.OPEN),  # the customer answered what we waited for
            (S.ON_HOLD, S.ON_HOLD),  # still waiting for the third party
            (S.SOLVED, S.OPEN),  # a reply reopens a solved ticket
            (S.CLOSED, S.CLOSED),  # final: the service opens a follow-up instead
        ],
    )
    def test_reopens_solved_and_pending_tickets_only(self, before: S, after: S) -> None:
        assert rules.status_after_customer_message(before) == after


class TestStatusAfterAgentReply:
    @pytest.mark.parametrize(
        ("before", "after"),
        [
            (S.NEW, S.OPEN),
            (S.OPEN, S.OPEN),
            (S.PENDING, S.PENDING),
            (S.ON_HOLD, S.ON_HOLD),
            (S.SOLVED, S.SOLVED),
        ],
    )
    def test_the_first_answer_moves_a_new_ticket_to_open(self, before: S, after: S) -> None:
        assert rules.status_after_agent_reply(before) == after


class TestNextLine:
    @pytest.mark.parametrize(("line", "up"), [(1, 2), (2, 3), (3, 4), (4, None)])
    def test_goes_one_line_up_to_the_vendor_and_no_further(self, line: int, up: int | None) -> None:
        assert rules.next_line(line) == up

    def test_the_vendor_is_the_highest_line(self) -> None:
        assert rules.MAX_LINE == 4


class TestIsFinal:
    @pytest.mark.parametrize("status", list(S))
    def test_only_closed_is_final(self, status: S) -> None:
        assert rules.is_final(status) is (status == S.CLOSED)
