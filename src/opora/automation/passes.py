"""How the periodic job runs the time rules without reading every open ticket each minute.

A time rule fires on the tickets that match it, once per marker (``service._claim``). At a
million open tickets, finding them by reading every candidate on every run costs tens of
seconds a minute (``benchmarks/RESULTS.md``, "sla"), although almost nothing changes
between two runs. So each rule has two passes, and ``TimeRuleProgress`` says where they
stand:

1. **Changes.** The tickets that can have come to match since the rule's last look
   (``changes_since``): changed since, or one of its age thresholds passed in between
   (``service._came_to_match``). The window starts ``OVERLAP`` earlier, for
   transactions that were still open at the last look (a ticket updated then, committed
   later); reading a ticket twice does no harm, the claim fires once.
2. **Sweep.** Every ticket, a slice of ``SWEEP_SPAN`` ids per run, from the first to the
   last and round again: for what makes a ticket match without changing it (an
   organization made VIP, the requester's address, the SLA's warning and breach marks,
   the clock entering business hours, an edited calendar) and for a rule that is new or
   changed (changing a rule deletes its progress). A complete round that began at T
   moves ``changes_since`` up to T.

When every ticket fits one slice (a desk with up to ``SWEEP_SPAN`` tickets), a run's
sweep reads them all and the changes pass is skipped: a run is one full pass, as if
there were no progress at all.

The budget of a run (``service.MAX_BATCHES`` batches beyond each pass's first) keeps one
busy rule from holding the others; a pass that runs out goes on where it stopped next
run (``changes_after_id``, ``sweep_after_id``), so no ticket is out of reach. The sweep
takes more than its first batch only while its batches fire: a new rule catching up on
thousands of tickets does, a rule whose condition SQL cannot narrow (a word of the
subject) does not spend the budget reading tickets it does not match.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.automation.models import TimeRuleProgress
from opora.automation.schemas import TimeRulesRun
from opora.automation.service import MAX_BATCHES, ActiveTimeRule, RuleBatch

OVERLAP = timedelta(minutes=2)
SWEEP_SPAN = 50_000  # ticket ids per slice of the sweep


@dataclass(frozen=True, slots=True)
class Progress:
    """A rule's ``TimeRuleProgress`` row, as the passes read and write it."""

    changes_since: datetime | None = None
    changes_pass_at: datetime | None = None
    changes_after_id: int = 0
    sweep_after_id: int = 0
    sweep_started_at: datetime | None = None
    sweep_done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which of a rule's candidates a batch reads (``service.run_time_rule_batch``)."""

    after_id: int
    until_id: int | None = None  # the sweep: up to this id
    changed_since: datetime | None = None  # the changes: what can have changed since


# run one batch and store the progress ``settle`` gives for its outcome, in one
# transaction (the job), so that progress and what the batch fired commit together
RunStep = Callable[[ActiveTimeRule, Scope, Callable[[RuleBatch], Progress]], Awaitable[RuleBatch]]


async def load_progress(session: AsyncSession) -> dict[int, Progress]:
    rows = (await session.execute(select(TimeRuleProgress))).scalars()
    return {
        r.rule_id: Progress(
            changes_since=r.changes_since, changes_pass_at=r.changes_pass_at,
            changes_after_id=r.changes_after_id, sweep_after_id=r.sweep_after_id,
            sweep_started_at=r.sweep_started_at, sweep_done_at=r.sweep_done_at,
        )
        for r in rows
    }  # fmt: skip


async def save_progress(session: AsyncSession, rule_id: int, progress: Progress) -> None:
    row = await session.get(TimeRuleProgress, rule_id)
    if row is None:
        row = TimeRuleProgress(rule_id=rule_id)
        session.add(row)
    row.changes_since = progress.changes_since
    row.changes_pass_at = progress.changes_pass_at
    row.changes_after_id = progress.changes_after_id
    row.sweep_after_id = progress.sweep_after_id
    row.sweep_started_at = progress.sweep_started_at
    row.sweep_done_at = progress.sweep_done_at
    await session.flush()


def _after_changes(p: Progress, pass_at: datetime, batch: RuleBatch) -> Progress:
    if batch.next_after is None:  # done: everything up to the pass's instant is seen
        return replace(p, changes_since=pass_at, changes_pass_at=None, changes_after_id=0)
    return replace(p, changes_pass_at=pass_at, changes_after_id=batch.next_after)


def _after_slice(p: Progress, until_id: int, last_id: int, batch: RuleBatch) -> Progress:
    if batch.next_after is not None:  # more in this slice
        return replace(p, sweep_after_id=batch.next_after)
    if until_id < last_id:
        return replace(p, sweep_after_id=until_id)
    # round complete: what it began with is seen, and so is every change before that
    began = p.sweep_started_at
    since = p.changes_since
    if began is not None and (since is None or began > since):
        since = began
    return replace(p, sweep_after_id=0, sweep_done_at=began, changes_since=since)


async def advance(
    rules: Sequence[ActiveTimeRule],
    progress: dict[int, Progress],
    step: RunStep,
    *,
    now: datetime,
    last_id: int,
    max_batches: int = MAX_BATCHES,
    span: int = SWEEP_SPAN,
) -> TimeRulesRun:
    """One run: each rule by position, its changes pass, then its slice of the sweep."""
    checked = fired = failed = 0
    budget = max_batches

    def count(batch: RuleBatch) -> None:
        nonlocal checked, fired, failed
        checked, fired, failed = (
            checked + batch.checked,
            fired + batch.fired,
            failed + batch.failed,
        )

    for rule in rules:
        p = progress.get(rule.id) or Progress(changes_since=now)
        whole_in_one_slice = p.sweep_after_id == 0 and last_id <= span
        if p.changes_since is not None and not whole_in_one_slice:
            pass_at = p.changes_pass_at or now
            since = p.changes_since - OVERLAP
            while True:
                scope = Scope(after_id=p.changes_after_id, changed_since=since)
                settle = partial(_after_changes, p, pass_at)
                batch = await step(rule, scope, settle)
                count(batch)
                p = settle(batch)
                if batch.next_after is None or budget <= 0:
                    break
                budget -= 1
        if p.sweep_after_id == 0:
            p = replace(p, sweep_started_at=now)
        while True:
            after = p.sweep_after_id
            until = after // span * span + span
            scope = Scope(after_id=after, until_id=until)
            settle = partial(_after_slice, p, until, last_id)
            batch = await step(rule, scope, settle)
            count(batch)
            p = settle(batch)
            # a slice done: the next one is the next run's; more of this slice only while
            # it finds work (a new rule catching up), not to read what does not match
            if batch.next_after is None or budget <= 0 or not batch.fired:
                break
            budget -= 1
        progress[rule.id] = p
    return TimeRulesRun(rules=len(rules), checked=checked, fired=fired, failed=failed)
