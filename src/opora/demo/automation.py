"""The demo company's SLA and automation: what a support team sets up in its first week.

Two business calendars (the office in Moscow, Mon–Fri 09:00–18:00 with the Russian
public holidays of 2027, and 24/7 for urgent work), three SLA policies (VIP
organizations, urgent tickets around the clock, everyone else in office hours), triggers
that escalate what L1 should not hold, time rules that remind, solve and close, shared
macros in Russian and English, and round-robin routing in the first line.

Everything goes through the services, as an admin would make it in Admin → SLA and
Admin → Automation, and only what is missing is made, so a second ``opora demo`` changes
nothing here. The policies are applied to the open tickets the demo loaded and one SLA
sweep records the warnings and breaches their history has already crossed; the triggers
are made afterwards, so loading the demo does not set them off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import Group, User
from opora.auth.schemas import AssignmentMode, GroupUpdate
from opora.automation import service as automation
from opora.automation.models import Macro, TimeRule, Trigger
from opora.automation.schemas import MacroCreate, TimeRuleCreate, TriggerCreate
from opora.db import Database
from opora.sla import service as sla
from opora.sla.models import BusinessCalendar, SlaPolicy
from opora.sla.schemas import CalendarCreate, PolicyCreate

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE = "Офис Москва / Moscow office"
BILLING_GROUP = "L2 Billing"
# the first-line agents at work when the demo starts (the rest are offline)
ON_DUTY = ("olga.kuznetsova@opora.dev", "dmitry.sokolov@opora.dev", "emily.carter@opora.dev")
ROUND_THE_CLOCK = "24/7"
# the Russian public holidays of 2027 (non-working days by the production calendar)
HOLIDAYS_2027 = [
    "2027-01-01", "2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07", "2027-01-08",
    "2027-02-22", "2027-02-23", "2027-03-08", "2027-05-03", "2027-05-10", "2027-06-14",
    "2027-11-04",
]  # fmt: skip


def _targets(first: dict[str, int], nxt: dict[str, int], res: dict[str, int]) -> dict[str, Any]:
    return {
        p: {"first_response": first[p], "next_response": nxt[p], "resolution": res[p]}
        for p in ("low", "normal", "high", "urgent")
    }


# minutes of business time
VIP_TARGETS = _targets(
    {"low": 240, "normal": 120, "high": 60, "urgent": 30},
    {"low": 240, "normal": 120, "high": 60, "urgent": 30},
    {"low": 2880, "normal": 1440, "high": 960, "urgent": 480},
)
STANDARD_TARGETS = _targets(
    {"low": 1440, "normal": 480, "high": 240, "urgent": 60},
    {"low": 1440, "normal": 480, "high": 240, "urgent": 120},
    {"low": 7200, "normal": 4320, "high": 1440, "urgent": 480},
)
URGENT_TARGETS = {"urgent": {"first_response": 30, "next_response": 60, "resolution": 480}}


def _triggers(billing_id: int | None, supervisor_email: str) -> list[TriggerCreate]:
    to_billing = {"group_id": billing_id} if billing_id is not None else {}
    return [
        TriggerCreate(
            name="VIP: высокий приоритет / VIP: high priority",
            description="Обращения VIP-клиентов не ждут в общей очереди.",
            events=["ticket.created"],
            conditions={"all": [
                {"field": "organization.vip", "op": "is", "value": True},
                {"field": "priority", "op": "in", "value": ["low", "normal"]},
            ]},
            actions=[{"action": "set_priority", "priority": "high"},
                     {"action": "add_tags", "tags": ["vip"]}],
        ),
        TriggerCreate(
            name="Платежи → L2 Billing / Payments to L2 Billing",
            description="Вопросы об оплате и возвратах сразу у специалистов по платежам.",
            events=["ticket.created"],
            conditions={"all": [
                {"field": "line", "op": "is", "value": 1},
                {"field": "text", "op": "matches_any_word",
                 "value": ["возврат*", "refund*", "chargeback", "списал*", "double charge*"]},
            ]},
            actions=[{"action": "escalate",
                      "reason": "Возврат или двойное списание: решает L2 Billing.",
                      **to_billing},
                     {"action": "add_tags", "tags": ["refunds"]}],
        ),
        TriggerCreate(
            name="Срочное → следующая линия / Urgent goes up a line",
            description="Срочное обращение на первой линии сразу передаётся специалистам.",
            events=["ticket.created", "ticket.updated"],
            conditions={"all": [
                {"field": "priority", "op": "is", "value": "urgent"},
                {"field": "line", "op": "is", "value": 1},
            ]},
            actions=[{"action": "escalate", "reason": "Срочный приоритет / urgent priority"}],
        ),
        TriggerCreate(
            name="Нарушен SLA → эскалация / SLA breached: escalate",
            description="Просроченный первый ответ или решение поднимает обращение на линию "
            "выше и оставляет заметку.",
            events=["sla.breached"],
            conditions={"all": [{"field": "line", "op": "lte", "value": 2}],
                        "any": [{"field": "sla.breached", "op": "contains",
                                 "value": "first_response"},
                                {"field": "sla.breached", "op": "contains",
                                 "value": "resolution"}]},
            actions=[
                {"action": "add_note",
                 "text": "SLA нарушен по обращению #{{ticket.number}}: передаю на следующую "
                 "линию."},
                {"action": "escalate", "reason": "Нарушен SLA / SLA breached"},
            ],
        ),
        TriggerCreate(
            name="Предупреждение SLA → руководителю / SLA warning to the supervisor",
            events=["sla.warning"],
            conditions={"all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]},
            actions=[{"action": "notify_email", "to": supervisor_email,
                      "subject": "SLA: #{{ticket.number}} скоро будет просрочено",
                      "body": "Обращение #{{ticket.number}} «{{ticket.subject}}» "
                      "({{ticket.priority}}) скоро нарушит SLA.\n{{ticket.url}}"}],
        ),
    ]  # fmt: skip


def _time_rules(calendar_id: int) -> list[TimeRuleCreate]:
    return [
        TimeRuleCreate(
            name="Напоминание: ждём ответа 3 дня / Reminder after 3 days pending",
            conditions={"all": [
                {"field": "status", "op": "is", "value": "pending"},
                {"field": "business_hours_since_status_change", "op": "gte", "value": 27},
                {"field": "tags", "op": "not_contains", "value": "reminded"},
            ]},
            actions=[
                {"action": "notify_email", "to": "requester",
                 "subject": "Ждём вашего ответа по обращению #{{ticket.number}}",
                 "body": "Здравствуйте, {{contact.first_name}}!\n\nМы ждём вашего ответа по "
                 "обращению «{{ticket.subject}}». Если вопрос решён, ничего делать не нужно: "
                 "через несколько дней мы закроем обращение сами.\n\n{{ticket.url}}"},
                {"action": "add_tags", "tags": ["reminded"]},
            ],
            calendar_id=calendar_id,
        ),
        TimeRuleCreate(
            name="Нет ответа 7 дней → решено / Solve after 7 days pending",
            conditions={"all": [
                {"field": "status", "op": "is", "value": "pending"},
                {"field": "business_hours_since_status_change", "op": "gte", "value": 63},
            ]},
            actions=[
                {"action": "add_note",
                 "text": "Клиент не ответил 7 рабочих дней: обращение решено автоматически."},
                {"action": "set_status", "status": "solved"},
            ],
            calendar_id=calendar_id,
        ),
        TimeRuleCreate(
            name="Решено 4 дня → закрыто / Close 4 days after solved",
            conditions={"all": [
                {"field": "status", "op": "is", "value": "solved"},
                {"field": "hours_since_status_change", "op": "gte", "value": 96},
            ]},
            actions=[{"action": "set_status", "status": "closed"}],
        ),
        TimeRuleCreate(
            name="Без исполнителя 30 минут → группе / Unassigned 30 minutes: tell the group",
            conditions={"all": [
                {"field": "status", "op": "is", "value": "new"},
                {"field": "assignee_id", "op": "is", "value": None},
                {"field": "hours_since_created", "op": "gte", "value": 0.5},
                {"field": "tags", "op": "not_contains", "value": "waiting-alert"},
            ]},
            actions=[
                {"action": "notify_email", "to": "group",
                 "subject": "#{{ticket.number}} ждёт исполнителя 30 минут",
                 "body": "«{{ticket.subject}}» от {{contact.name}} всё ещё без "
                 "исполнителя.\n{{ticket.url}}"},
                {"action": "add_tags", "tags": ["waiting-alert"]},
            ],
        ),
        TimeRuleCreate(
            name="L1 держит 16 рабочих часов → L2 / L1 held 16 business hours: escalate",
            conditions={"all": [
                {"field": "line", "op": "is", "value": 1},
                {"field": "status", "op": "in", "value": ["new", "open"]},
                {"field": "business_hours_since_created", "op": "gte", "value": 16},
            ]},
            actions=[{"action": "escalate",
                      "reason": "Первая линия держит обращение больше 16 рабочих часов."}],
            calendar_id=calendar_id,
        ),
    ]  # fmt: skip


MACROS = [
    MacroCreate(
        name="Сброс пароля (ru)",
        body="Здравствуйте, {{contact.first_name}}!\n\nЧтобы сбросить пароль, нажмите "
        "«Забыли пароль?» на экране входа и введите адрес, на который зарегистрирован "
        "аккаунт ({{contact.email}}). Письмо со ссылкой придёт в течение пары минут; "
        "проверьте, пожалуйста, и папку «Спам».\n\nЕсли письмо не придёт, ответьте на это "
        "сообщение — разберёмся.\n\n{{agent.name}}",
        actions=[{"action": "set_status", "status": "pending"},
                 {"action": "add_tags", "tags": ["password"]}],
        shared=True,
    ),
    MacroCreate(
        name="Password reset (en)",
        body="Hello {{contact.first_name}},\n\nTo reset your password, tap \"Forgot "
        "password?\" on the sign-in screen and enter the address your account uses "
        "({{contact.email}}). The link arrives within a couple of minutes; please check "
        "the spam folder too.\n\nIf nothing arrives, just reply to this message.\n\n"
        "{{agent.name}}",
        actions=[{"action": "set_status", "status": "pending"},
                 {"action": "add_tags", "tags": ["password"]}],
        shared=True,
    ),
    MacroCreate(
        name="Нужны логи приложения (ru)",
        body="{{contact.first_name}}, чтобы найти причину, пришлите, пожалуйста, логи: "
        "Настройки → О приложении → «Отправить отчёт». В комментарии к отчёту укажите "
        "номер обращения #{{ticket.number}}.",
        actions=[{"action": "set_status", "status": "pending"},
                 {"action": "add_tags", "tags": ["logs-requested"]}],
        shared=True,
    ),
    MacroCreate(
        name="Передать разработчикам / Hand over to engineering",
        visibility="internal",
        body="Воспроизводится, нужна помощь разработки. Шаги и логи — выше в обращении "
        "#{{ticket.number}}.",
        actions=[{"action": "escalate", "reason": "Нужен разбор разработчиками"},
                 {"action": "add_tags", "tags": ["bug"]}],
        shared=True,
    ),
]  # fmt: skip


async def load_automation(db: Database, *, now: datetime) -> dict[str, int]:
    """Make what is missing; returns counts for the demo's summary. ``now``: where the
    demo's history ends (its SLA clocks are read at that moment)."""
    actor = system_actor("demo")
    made = {"calendars": 0, "policies": 0, "triggers": 0, "time_rules": 0, "macros": 0}
    async with db.unit_of_work() as s:
        calendars = {c.name: c for c in (await s.execute(select(BusinessCalendar))).scalars()}
        if OFFICE not in calendars:
            calendars[OFFICE] = await sla.create_calendar(
                s, actor=actor, data=CalendarCreate(
                    name=OFFICE, timezone="Europe/Moscow",
                    hours={d: [["09:00", "18:00"]] for d in WEEKDAYS}, holidays=HOLIDAYS_2027,
                ),
            )  # fmt: skip
            made["calendars"] += 1
        if ROUND_THE_CLOCK not in calendars:
            calendars[ROUND_THE_CLOCK] = await sla.create_calendar(
                s, actor=actor, data=CalendarCreate(name=ROUND_THE_CLOCK, timezone="UTC")
            )
            made["calendars"] += 1
        office, always = calendars[OFFICE].id, calendars[ROUND_THE_CLOCK].id
        if (await s.execute(select(SlaPolicy.id).limit(1))).first() is None:
            policies = [
                PolicyCreate(
                    name="VIP", position=1, calendar_id=office, targets=VIP_TARGETS,
                    conditions={"all": [{"field": "organization.vip", "op": "is",
                                         "value": True}]},
                    pause_on_hold=True,
                ),
                PolicyCreate(
                    name="Срочное круглосуточно / Urgent around the clock", position=2,
                    calendar_id=always, targets=URGENT_TARGETS,
                    conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"}]},
                ),
                PolicyCreate(
                    name="Стандарт / Standard", position=3, calendar_id=office,
                    targets=STANDARD_TARGETS,
                ),
            ]  # fmt: skip
            for policy in policies:
                await sla.create_policy(s, actor=actor, data=policy)
                made["policies"] += 1
            await sla.apply_to_open(s, actor=actor, now=now)
    # the warnings and breaches the demo's history has already crossed (no trigger yet)
    while True:
        async with db.unit_of_work() as s:
            swept = await sla.sweep_batch(s, now=now)
        if swept.checked < sla.SWEEP_BATCH:
            break

    async with db.unit_of_work() as s:
        supervisor = (
            (await s.execute(select(User).where(User.role == "supervisor").order_by(User.id)))
            .scalars()
            .first()
        )
        supervisor_email = supervisor.email if supervisor else "admin@opora.dev"
        groups = list((await s.execute(select(Group).order_by(Group.id))).scalars())
        billing = next((g.id for g in groups if g.name == BILLING_GROUP), None)
        names = {t.name for t in (await s.execute(select(Trigger))).scalars()}
        for trigger in _triggers(billing, supervisor_email):
            if trigger.name not in names:
                await automation.create_trigger(s, actor=actor, data=trigger)
                made["triggers"] += 1
        names = {r.name for r in (await s.execute(select(TimeRule))).scalars()}
        for rule in _time_rules(office):
            if rule.name not in names:
                await automation.create_time_rule(s, actor=actor, data=rule)
                made["time_rules"] += 1
        names = {m.name for m in (await s.execute(select(Macro))).scalars()}
        for macro in MACROS:
            if macro.name not in names:
                await automation.create_macro(s, actor=actor, data=macro)
                made["macros"] += 1
        first_line = next((g for g in groups if g.line == 1), None)
        if first_line is not None and first_line.assignment == AssignmentMode.MANUAL:
            # new tickets of the first line go round the agents who are at work
            await auth_service.update_group(
                s, actor=actor, group_id=first_line.id,
                data=GroupUpdate(assignment=AssignmentMode.ROUND_ROBIN),
            )  # fmt: skip
            for email in ON_DUTY:
                user = (await s.execute(select(User).where(User.email == email))).scalar()
                if user is not None:
                    await auth_service.set_availability(
                        s, actor=actor, availability="online", user_id=user.id
                    )
    return made
