"""The demo, decided in advance: who works here, who writes in, what happens to each ticket.

Pure and seeded. ``make_plan(seed=..., tickets=..., now=...)`` returns the same company
and the same ticket stories (subjects, texts, who does what, in which order) for the same
seed; only the absolute times move with ``now``. Content and timing draw from two
separate generators, so the texts never depend on the clock.

A story is the life of one ticket (plus, sometimes, a duplicate the customer sent through
another channel, or a follow-up after it was closed) as a list of steps: the customer
writes, an L1 agent takes it, asks, answers, escalates to L2, L3 or the payment vendor,
puts it on hold, solves it; four days after it is solved it is closed. Each story is cut
where its main ticket reaches the status it should have today.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from opora.demo import content
from opora.demo.content import AGENTS, ORGANIZATIONS, TOPIC_BY_KEY, TOPICS, AgentSpec, Topic

MSK = timezone(timedelta(hours=3))  # the support team works in Moscow time
WINDOW_DAYS = 90
CLOSE_AFTER_DAYS = 4  # a solved ticket is closed four days later
DAY = 1440.0  # minutes

# what is still open today is about two days of inflow; solved tickets close after four
# days, so "solved" is about the last four days; everything older is closed
STATUS_SHARES = {"new": 0.003, "open": 0.008, "pending": 0.005, "on_hold": 0.004, "solved": 0.033}
HOLD_TOPICS = ("login", "payment", "lost_messages", "bug")  # topics with an L3/vendor path
# days with more tickets than usual: a payment gateway outage, an SMS provider incident
SPIKES = {"payment": (23, 0.08), "login": (51, 0.08)}

CHANNELS = {
    "ru": (("email", 38), ("web", 20), ("chat", 17), ("telegram", 13), ("vk", 6), ("phone", 6)),
    "en": (("email", 50), ("web", 22), ("chat", 20), ("telegram", 4), ("phone", 4)),
}
CHANNEL_LABELS = {
    "email": "email inbox",
    "web": "web form",
    "chat": "chat widget",
    "telegram": "telegram bot",
    "vk": "vk bot",
}
CHATTY = ("chat", "telegram", "vk")  # short messages, fast answers
PRIORITIES = (("low", 15), ("normal", 67), ("high", 14), ("urgent", 4))
_PRIORITY_ORDER = ("low", "normal", "high", "urgent")
# when, in Moscow time, Russian-speaking customers write (weight per hour)
HOURLY = (1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 3, 5, 6.5, 7,
          6.5, 6, 6.5, 6.5, 6, 5.5, 4.5, 4, 3.5, 3, 2.2, 1.5)  # fmt: skip
_AGENTS_BY_KEY = {a.key: a for a in AGENTS}


# --- the company ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactPlan:
    name: str
    first: str
    email: str
    language: str
    female: bool
    organization: int | None  # index into content.ORGANIZATIONS
    technical_level: str
    sees_organization_tickets: bool
    timezone: str
    phone: str | None = None
    telegram: str | None = None


def contact_count(tickets: int) -> int:
    """About one contact per ten tickets: 300 for the full demo, fewer for small loads."""
    return max(30, min(300, round(tickets / 10)))


def organization_count(contacts: int) -> int:
    return max(6, min(len(ORGANIZATIONS), contacts // 7))


def _person(rng: random.Random, language: str) -> tuple[str, str, str, bool]:
    """(full name, first name, email local part, female)."""
    female = rng.random() < 0.5
    if language == "ru":
        first = rng.choice(content.RU_FEMALE if female else content.RU_MALE)
        surname = rng.choice(content.RU_SURNAMES) + ("а" if female else "")
        local = f"{content.translit(first)}.{content.translit(surname)}"
    else:
        first = rng.choice(content.EN_FEMALE if female else content.EN_MALE)
        surname = rng.choice(content.EN_SURNAMES)
        local = f"{first}.{surname}".lower()
    return f"{first} {surname}", first, local, female


def gender_slots(female: bool) -> dict[str, str]:
    """Endings of Russian past-tense verbs: «пробовал{a}», «зарегистрировал{sya}»."""
    if female:
        return {"a": "а", "sya": "ась", "grateful": "благодарна"}
    return {"a": "", "sya": "ся", "grateful": "благодарен"}


def make_contacts(rng: random.Random, count: int) -> list[ContactPlan]:
    """~60 % Russian and ~40 % English speakers; ~80 % write from their company's domain."""
    orgs = list(range(organization_count(count)))
    by_language = {
        lang: [i for i in orgs if ORGANIZATIONS[i].language == lang] for lang in ("ru", "en")
    }
    contacts: list[ContactPlan] = []
    emails: set[str] = set()
    handles: set[str] = set()  # phone numbers and telegram ids are unique too
    first_of_org: set[int] = set()
    while len(contacts) < count:
        language = "ru" if rng.random() < 0.6 else "en"
        name, first, local, female = _person(rng, language)
        org: int | None = None
        if rng.random() < 0.8 and by_language[language]:
            pool = by_language[language]
            weights = [2 if ORGANIZATIONS[i].vip else 1 for i in pool]
            org = rng.choices(pool, weights)[0]
            domain = ORGANIZATIONS[org].domain
            tz = ORGANIZATIONS[org].timezone
        else:
            domain = rng.choice(content.PERSONAL_DOMAINS[language])
            tz = "Europe/Moscow" if language == "ru" else "Europe/London"
        email = f"{local}@{domain}"
        if email in emails:
            email = f"{local}{rng.randint(2, 99)}@{domain}"
            if email in emails:
                continue
        emails.add(email)
        level = rng.choices(("novice", "confident", "expert"), (35, 45, 20))[0]
        sees_org = org is not None and (org not in first_of_org or rng.random() < 0.1)
        if org is not None:
            first_of_org.add(org)
        phone = telegram = None
        if rng.random() < (0.3 if language == "ru" else 0.1):
            phone = (
                f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-"
                f"{rng.randint(10, 99)}"
                if language == "ru"
                else f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
            )
            phone = None if phone in handles else phone
        if rng.random() < (0.2 if language == "ru" else 0.05):
            telegram = str(rng.randint(100_000_000, 7_999_999_999))
            telegram = None if telegram in handles else telegram
        handles.update(h for h in (phone, telegram) if h)
        contacts.append(
            ContactPlan(
                name=name,
                first=first,
                email=email,
                language=language,
                female=female,
                organization=org,
                technical_level=level,
                sees_organization_tickets=sees_org,
                timezone=tz,
                phone=phone,
                telegram=telegram,
            )
        )
    return contacts


# --- stories -------------------------------------------------------------------------------


@dataclass(slots=True)
class Step:
    """One thing that happens to a ticket, done by one service call.

    ``ticket`` is the story's ticket the step acts on: 0 the main ticket, 1 a duplicate,
    2 a follow-up. ``actor`` is an agent key, ``"customer"``, or ``"system:<label>"``.
    """

    minute: float  # from midnight (Moscow) of the story's first day
    op: str
    actor: str
    ticket: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    status: str = ""  # the main ticket's status after this step
    at: datetime | None = None  # set once the story is placed in time


@dataclass(slots=True)
class Story:
    contact: int
    topic: str
    language: str
    target: str  # the main ticket's status today
    subject: str
    steps: list[Step]
    tickets: int  # tickets this story creates
    created_at: datetime | None = None


@dataclass(slots=True)
class Plan:
    seed: int
    now: datetime
    contacts: list[ContactPlan]
    organizations: int
    stories: list[Story]


def status_targets(tickets: int) -> list[str]:
    """How many tickets end in each status: a few of each open status, most closed."""
    targets: list[str] = []
    for status, share in STATUS_SHARES.items():
        count = max(1, round(tickets * share))
        targets += [status] * min(count, max(0, tickets - len(targets)))
    targets += ["closed"] * (tickets - len(targets))
    return targets


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


def _fill(template: str, slots: dict[str, Any]) -> str:
    return template.format_map(slots)


def draw_choices(rng: random.Random, topic: Topic) -> dict[str, Any]:
    """Everything a ticket's texts may mention, drawn once and shared by both languages."""
    platform = rng.choices(list(content.PLATFORM_WEIGHTS), list(content.PLATFORM_WEIGHTS.values()))
    minor, patch = rng.randint(8, 14), rng.randint(0, 6)
    return {
        "platform": platform[0],
        "device": rng.choice(content.DEVICES[platform[0]]),
        "browser": rng.choice(content.BROWSERS),
        "version": f"5.{minor}.{patch}",
        "next_version": f"5.{minor}.{patch + 1}" if rng.random() < 0.5 else f"5.{minor + 1}.0",
        "error": rng.choice(content.ERRORS[topic.key]),
        "order": f"A-{rng.randint(100000, 999999)}",
        "card_digits": f"{rng.randint(0, 9999):04d}",
        "count": rng.choice((17, 40, 64, 120, 230, 300, 850)),
        "hour": rng.randint(9, 21),
        "phone_tail": f"{rng.randint(0, 99):02d}",
        "fr": rng.randint(100, 999),
        "vendor_ref": f"PG-{rng.randint(10000, 99999)}",
        "kb": rng.randint(12, 240),
        # indexes into the language-specific word lists
        **{word: rng.randrange(len(content.SLOT_WORDS["ru"][word])) for word in (
            "when", "amount", "plan", "card_brand", "chat", "feature", "howto", "menu",
            "bug_action", "broken")},
    }  # fmt: skip


def slots_for(
    language: str, choices: dict[str, Any], *, email: str, money_language: str | None = None
) -> dict[str, Any]:
    """The slot values for texts in ``language``. Money is in the customer's currency even
    when an agent writes a note in the other language (``money_language``)."""
    words = content.SLOT_WORDS[language]
    money = content.SLOT_WORDS[money_language or language]
    slots = {k: v for k, v in choices.items() if k not in words and k != "card_digits"}
    for word, options in words.items():
        slots[word] = options[choices[word]]
    slots["amount"] = money["amount"][choices["amount"]]
    slots["plan"] = money["plan"][choices["plan"]]
    brand = money["card_brand"][choices["card_brand"]]
    slots["card"] = f"{brand} *{choices['card_digits']}"
    slots["product"] = content.PRODUCT[language]
    slots["email"] = email
    slots["kb_url"] = content.KB_URL[language].format(kb=choices["kb"])
    return slots


class _StoryBuilder:
    """Writes one story step by step, keeping the clock and the statuses."""

    def __init__(
        self,
        rng: random.Random,
        trng: random.Random,
        topic: Topic,
        contact: ContactPlan,
        agents: dict[str, AgentSpec],
    ) -> None:
        self.rng, self.trng, self.topic, self.contact = rng, trng, topic, contact
        self.lang = contact.language
        self.agents = agents
        self.case = topic.cases[rng.randrange(len(topic.cases))]
        self.choices = draw_choices(rng, topic)
        self.slots = slots_for(self.lang, self.choices, email=contact.email)
        self.steps: list[Step] = []
        self.status: dict[int, str] = {}
        self.group: dict[int, str] = {}
        self.t = 0.0
        self.owner = ""  # the agent who answers the customer now
        self.tickets = 1
        self.subject = ""
        self.channel = "email"
        self.fields_later: dict[str, str] | None = None

    # --- texts ---------------------------------------------------------------------------

    def pick(self, key: str, *, lang: str | None = None, agent: str | None = None) -> str:
        """A filled template in ``lang``: the ticket's case first, then its topic, then
        the texts every topic shares."""
        lang = lang or self.lang
        pool = (
            self.case[lang].get(key)
            or self.topic.texts[lang].get(key)
            or content.COMMON[lang].get(key)
            or ()
        )
        slots = self.slots
        if lang != self.lang:
            slots = slots_for(lang, self.choices, email=self.contact.email,
                              money_language=self.lang)  # fmt: skip
        extra = {"subject": self.subject, "first": self.contact.first}
        extra.update(gender_slots(self.contact.female))  # the customer speaks...
        if agent:  # ...or an agent does
            extra["agent"] = self.agents[agent].first[lang]
            extra.update(gender_slots(self.agents[agent].female))
        return _fill(self.rng.choice(pool), {**slots, **extra})

    def note_text(self, key: str, agent: str) -> str:
        return self.pick(key, lang=self.agents[agent].language, agent=agent)

    def customer_text(self, key: str) -> str:
        return self.pick(key)

    def agent_reply(self, agent: str, body: str, *, confirm: bool = False) -> str:
        greet = self.pick("agent_greetings", agent=agent)
        parts = [body]
        if confirm:
            parts.append(self.pick("confirm", agent=agent))
        if self.channel in CHATTY:
            return f"{greet} {' '.join(parts)}"
        return f"{greet}\n\n" + "\n\n".join(parts) + f"\n\n{self.pick('signoff', agent=agent)}"

    def first_message(self) -> str:
        rng = self.rng
        lines = [self.pick("problems")]
        if rng.random() < 0.6:
            lines.append(self.pick("details"))
        if self.contact.technical_level == "novice" and rng.random() < 0.5:
            lines.append(self.pick("novice"))
        if self.contact.technical_level == "expert" and rng.random() < 0.6:
            lines.append(self.pick("expert"))
        if self.channel in CHATTY:
            return " ".join(lines)
        body = f"{self.pick('greetings')}\n\n" + " ".join(lines)
        if rng.random() < 0.8:
            body += f"\n\n{self.pick('closings')}"
        return body + f"\n{self.contact.name}"

    # --- time ----------------------------------------------------------------------------

    def lognormal(self, median: float, sigma: float, low: float, high: float) -> float:
        return min(high, max(low, median * math.exp(self.trng.gauss(0, sigma))))

    def work(self, t: float, start: int = 8, end: int = 22) -> float:
        """The next moment within working hours (Moscow time) at or after ``t``."""
        day, minute = divmod(t, DAY)
        if start * 60 <= minute < end * 60:
            return t
        if minute < start * 60:
            return day * DAY + start * 60 + self.trng.uniform(0, 45)
        return (day + 1) * DAY + start * 60 + self.trng.uniform(0, 45)

    def awake(self, t: float) -> float:
        """Customers write from 7:00 to 23:30 of their time (Europe is 2 hours behind)."""
        start, end = (7, 23.5) if self.lang == "ru" else (9, 24)
        day, minute = divmod(t, DAY)
        if start * 60 <= minute < end * 60:
            return t
        if minute < start * 60:
            return day * DAY + start * 60 + self.trng.uniform(0, 90)
        return (day + 1) * DAY + start * 60 + self.trng.uniform(0, 90)

    def later(self, minutes: float) -> float:
        self.t += max(0.5, minutes)
        return self.t

    # --- steps ---------------------------------------------------------------------------

    def add(self, op: str, actor: str, *, ticket: int = 0, **data: Any) -> Step:
        effect = {
            "create": data.get("status") or ("open" if data.get("assignee") else "new"),
            "reply": "open" if self.status.get(ticket) == "new" else None,
            "status": data.get("status"),
            "escalate": "open" if self.status.get(ticket) == "new" else None,
            "regroup": data.get("status"),
            "customer": "open" if self.status.get(ticket) in ("solved", "pending") else None,
            "follow_up": None,
        }.get(op)
        if effect:
            self.status[ticket] = effect
        if op == "merge":
            self.status[1] = "closed"
        if op == "follow_up":
            self.status[2] = "new"
            self.group[2] = self.group[0]
        if op in ("escalate", "regroup"):
            self.group[ticket] = data["group"]
        step = Step(self.t, op, actor, ticket, data, self.status.get(0, "new"))
        self.steps.append(step)
        return step

    def pick_agent(self, group: str) -> str:
        """An agent of ``group`` who speaks the customer's language."""
        candidates = [
            a.key
            for a in AGENTS
            if group in a.groups and self.lang in a.languages and a.role == "agent"
        ]
        if not candidates:  # nobody on this line speaks the language: anyone on it
            candidates = [a.key for a in AGENTS if group in a.groups and a.role == "agent"]
        return self.rng.choice(candidates)

    def create(self, target: str) -> None:
        rng, contact = self.rng, self.contact
        self.channel = _weighted(rng, CHANNELS[self.lang])
        if target == "new" and self.channel == "phone":  # a call is answered at once
            self.channel = "email"
        subject = self.pick("subjects")
        self.subject = subject[0].upper() + subject[1:]
        priority = _weighted(rng, PRIORITIES)
        bump = {"payment": 0.15, "lost_messages": 0.2, "complaint": 0.3}.get(self.topic.key, 0)
        if rng.random() < bump:
            priority = "high"
        if self.topic.key in ("feature", "how_to") and rng.random() < 0.4:
            priority = "low"
        org = ORGANIZATIONS[contact.organization] if contact.organization is not None else None
        if org and org.vip and rng.random() < 0.3 and priority != "urgent":
            priority = _PRIORITY_ORDER[_PRIORITY_ORDER.index(priority) + 1]
        ticket_type = _weighted(rng, self.topic.types)
        tags = list(self.topic.tags)
        if rng.random() < 0.35:
            tags.append(rng.choice(self.topic.extra_tags))
        if org and org.vip:
            tags.append("vip")
        fields = {"platform": self.choices["platform"]}
        if self.choices["platform"] != "web":
            fields["app_version"] = self.choices["version"]
        body = self.first_message()
        hourly = HOURLY if self.lang == "ru" else HOURLY[-2:] + HOURLY[:-2]
        self.t = self.trng.choices(range(24), hourly)[0] * 60.0 + self.trng.uniform(0, 59)
        self.group[0] = "l1"
        common: dict[str, Any] = {
            "subject": self.subject,
            "body": body,
            "priority": priority,
            "type": ticket_type,
            "channel": self.channel,
            "tags": tags,
            "group": "l1",
        }
        if self.channel == "phone":  # an agent takes the call and opens the ticket
            self.owner = self.pick_agent("l1")
            common["body"] = self.pick("problems")
            self.add("create", self.owner, custom_fields=fields, assignee=self.owner, **common)
            return
        if rng.random() < 0.7:  # routing assigns most tickets as they arrive
            self.owner = self.pick_agent("l1")
            if self.topic.key == "complaint" and rng.random() < 0.3:
                self.owner = "maria"
            common.update(assignee=self.owner, status="new")
        source = f"system:{CHANNEL_LABELS[self.channel]}"
        if self.channel in ("web", "chat") and rng.random() < 0.8:  # the form asks for them
            self.add("create", source, custom_fields=fields, **common)
        else:
            self.add("create", source, custom_fields={}, **common)
            if rng.random() < 0.4:
                self.fields_later = fields

    def duplicate(self) -> None:
        """The impatient customer writes again through another channel."""
        channel = "chat" if self.channel == "email" else "email"
        self.later(self.lognormal(40, 0.6, 8, 180))
        body = self.customer_text("duplicates")
        self.add("create", f"system:{CHANNEL_LABELS[channel]}", ticket=1, subject=self.subject,
                 body=body, priority="normal", type=self.steps[0].data["type"], channel=channel,
                 tags=list(self.topic.tags), group="l1", custom_fields={})  # fmt: skip
        self.status[1] = "new"
        self.tickets += 1

    def first_response(self, *, merge: bool) -> None:
        """An L1 agent picks the ticket up (routing may have assigned it already)."""
        if self.channel == "phone":  # answered during the call
            self.later(self.trng.uniform(1, 4))
            return
        chatty = self.channel in CHATTY
        delay = self.lognormal(4, 0.8, 1, 60) if chatty else self.lognormal(45, 1.0, 5, 600)
        priority = self.steps[0].data["priority"]
        delay *= {"urgent": 0.4, "high": 0.7}.get(priority, 1.0)
        self.t = self.work(self.t + delay)
        routed = bool(self.owner)
        if not routed:
            self.owner = self.pick_agent("l1")
            if self.topic.key == "complaint" and self.rng.random() < 0.3:
                self.owner = "maria"
        data: dict[str, Any] = {"assignee": self.owner}
        if self.fields_later:
            data["custom_fields"] = self.fields_later
        if self.rng.random() < 0.1:  # triage: the agent disagrees with the priority
            data["priority"] = "high" if priority in ("low", "normal") else "normal"
        if not routed or len(data) > 1:
            self.add("assign", self.owner, **data)
        if merge:
            self.later(self.trng.uniform(0.5, 2))
            self.add("merge", self.owner, ticket=1)
        self.later(self.trng.uniform(2, 12))

    def ask(self) -> None:
        self.add("reply", self.owner, body=self.agent_reply(self.owner, self.pick("questions")))
        self.later(0.5)
        self.add("status", self.owner, status="pending")
        self.customer_says("answers")

    def customer_says(self, key: str) -> None:
        chatty = self.channel in CHATTY
        delay = self.lognormal(8, 1.0, 1, 240) if chatty else self.lognormal(90, 1.2, 3, 2880)
        self.t = self.awake(self.t + delay)
        self.add("customer", "customer", body=self.customer_text(key))
        self.t = self.work(self.t + self.lognormal(30, 1.0, 2, 480))

    def note(self, agent: str, key: str) -> None:
        self.add("note", agent, body=self.note_text(key, agent))
        self.later(self.trng.uniform(1, 10))

    def escalate(self, group: str, reason_key: str) -> None:
        self.add("escalate", self.owner, group=group, reason=self.note_text(reason_key, self.owner))
        self.later(1)

    def resolution(self, agent: str) -> dict[str, str]:
        problem, solution, outcome = self.note_text("resolutions", agent).split("|")
        return {"problem": problem, "solution": solution, "outcome": outcome}

    def solve(self, agent: str, *, ticket: int = 0) -> None:
        self.add("status", agent, ticket=ticket, status="solved",
                 resolution=self.resolution(agent))  # fmt: skip

    def resolve(self) -> None:
        """The answer, then the customer's word, then solved."""
        rng, owner = self.rng, self.owner
        r = rng.random()
        solution = self.pick("solutions")
        self.add("reply", owner, body=self.agent_reply(owner, solution, confirm=r >= 0.6))
        if self.topic.key == "feature" and rng.random() < 0.7:
            self.later(1)
            self.note(owner, "notes")
        if r < 0.6:
            self.later(self.trng.uniform(0.5, 3))
            self.solve(owner)
            if rng.random() < 0.08:  # a thank-you reopens it; the agent solves it again
                self.customer_says("thanks")
                self.solve(owner)
            return
        self.later(0.5)
        self.add("status", owner, status="pending")
        if r < 0.85:
            self.customer_says("thanks")
            self.solve(owner)
            return
        self.customer_says("not_helped")
        if rng.random() < 0.5:
            self.note(owner, "l1_notes")
        second = f"{self.pick('second_try')} {self.pick('solutions')}"
        self.add("reply", owner, body=self.agent_reply(owner, second))
        self.later(self.trng.uniform(0.5, 3))
        self.solve(owner)

    def escalation(self, *, deep: bool) -> None:
        rng, topic = self.rng, self.topic
        assert topic.escalate_to is not None
        if rng.random() < 0.5:
            self.note(self.owner, "notes")
        if rng.random() < 0.85:  # tell the customer it goes further, and why it takes time
            self.add("reply", self.owner, body=self.agent_reply(self.owner, self.pick("ack")))
            self.later(self.trng.uniform(1, 5))
        self.escalate(topic.escalate_to, "escalations")
        self.t = self.work(self.t + self.lognormal(60, 1.0, 10, 1440))
        l2 = self.pick_agent(topic.escalate_to)
        self.owner = l2
        self.add("assign", l2, assignee=l2)
        self.later(self.trng.uniform(5, 40))
        self.note(l2, "l2_notes")
        if not deep:
            self.t = self.work(self.t + self.lognormal(120, 1.0, 10, 2880))
            return
        if topic.key == "payment":
            self.vendor(l2)
        else:
            self.engineering(l2)

    def vendor(self, l2: str) -> None:
        self.escalate("vendor", "l3_reasons")
        self.add("reply", l2, body=self.agent_reply(l2, self.pick("hold")))
        self.later(0.5)
        self.add("status", l2, status="on_hold")
        self.later(1)
        url = content.VENDOR_URL.format(vendor_ref=self.choices["vendor_ref"])
        self.add("link_vendor", l2, url=url, ref=self.choices["vendor_ref"])
        if self.rng.random() < 0.3:
            self.customer_says("nudges")
        self.t = self.work(self.t + self.trng.uniform(1, 4) * DAY, 10, 19)
        self.add("assign", "tomasz", assignee="tomasz")
        self.later(self.trng.uniform(3, 30))
        vendor_note = _fill(self.rng.choice(content.VENDOR_NOTES), self.slots)
        self.add("note", "tomasz", body=vendor_note)
        self.t = self.work(self.t + self.lognormal(90, 1.0, 10, 1440))
        self.add("regroup", l2, group="l2_billing", assignee=l2, status="open")
        self.later(1)
        self.note(l2, "unhold")

    def engineering(self, l2: str) -> None:
        self.escalate("l3", "l3_reasons")
        if self.topic.key in ("bug", "lost_messages") and self.rng.random() < 0.6:
            self.add("link_related", l2, topic=self.topic.key)
            self.later(1)
        self.t = self.work(self.t + self.lognormal(240, 1.0, 30, 2880), 10, 19)
        l3 = self.rng.choice(("pavel", "sarah"))
        self.add("assign", l3, assignee=l3)
        self.later(self.trng.uniform(20, 120))
        self.note(l3, "l3_notes")
        self.add("reply", l2, body=self.agent_reply(l2, self.pick("hold")))
        self.later(0.5)
        self.add("status", l2, status="on_hold")
        if self.rng.random() < 0.3:
            self.customer_says("nudges")
        self.t = self.work(self.t + self.trng.uniform(1, 8) * DAY, 10, 19)
        self.note(l3, "l3_notes")
        self.add("status", l3, status="open")
        self.t = self.work(self.t + self.lognormal(60, 1.0, 5, 600))

    def complaint(self) -> None:
        if self.owner != "maria":
            self.note(self.owner, "handover")
            self.add("assign", self.owner, assignee="maria")
            self.owner = "maria"
            self.t = self.work(self.t + self.lognormal(60, 1.0, 5, 600))
        if self.rng.random() < 0.6:
            self.note("maria", "notes")

    def close(self) -> None:
        solved = self.t
        self.t = solved + CLOSE_AFTER_DAYS * DAY + self.trng.uniform(1, 60)
        self.add("status", "system:auto-close: solved 4 days ago", status="closed")

    def follow_up(self) -> None:
        """Days after it was closed, the customer writes again: a new, linked ticket."""
        self.t = self.awake(self.t + self.trng.uniform(1, 10) * DAY)
        self.add("follow_up", "customer", body=self.customer_text("follow_ups"))
        self.tickets += 1
        group = self.group[0]
        self.t = self.work(self.t + self.lognormal(60, 1.0, 5, 600))
        agent = self.pick_agent(group)
        self.add("assign", agent, ticket=2, assignee=agent)
        self.later(self.trng.uniform(2, 15))
        body = self.agent_reply(agent, self.pick("solutions"))
        self.add("reply", agent, ticket=2, body=body)
        self.later(self.trng.uniform(0.5, 3))
        self.solve(agent, ticket=2)
        self.t += CLOSE_AFTER_DAYS * DAY + self.trng.uniform(1, 60)
        self.add("status", "system:auto-close: solved 4 days ago", ticket=2, status="closed")


def _build(
    rng: random.Random,
    trng: random.Random,
    topic: Topic,
    contact_index: int,
    contact: ContactPlan,
    target: str,
    *,
    spare: int,
) -> Story:
    """One story whose main ticket can end in ``target``; ``spare`` extra tickets allowed."""
    b = _StoryBuilder(rng, trng, topic, contact, _AGENTS_BY_KEY)
    b.create(target)
    duplicate = (
        spare > 0
        and target in ("solved", "closed")
        and b.channel in ("email", "web")
        and rng.random() < 0.03
    )
    if duplicate:
        b.duplicate()
        spare -= 1
    b.first_response(merge=duplicate)
    clarify = rng.random() < 0.2 or target == "pending"
    escalate = topic.escalate_to is not None and (
        rng.random() < topic.p_escalate or target == "on_hold"
    )
    deep = escalate and (rng.random() < topic.p_l3 or target == "on_hold")
    if topic.key == "complaint":
        b.complaint()
    if clarify:
        b.ask()
    if escalate:
        b.escalation(deep=deep)
    b.resolve()
    b.close()
    if target == "closed" and spare > 0 and rng.random() < 0.025:
        b.follow_up()
    return Story(
        contact=contact_index,
        topic=topic.key,
        language=b.lang,
        target=target,
        subject=b.subject,
        steps=b.steps,
        tickets=b.tickets,
    )


def _cut(story: Story, rng: random.Random) -> int:
    """The index of the last step that has happened for the story's target status."""
    main = [i for i, s in enumerate(story.steps) if s.ticket != 2]
    if story.target == "closed":
        return len(story.steps) - 1
    if story.target == "new":
        return 0
    candidates = [i for i in main if story.steps[i].status == story.target]
    if story.target == "solved":
        return candidates[-1]
    return rng.choice(candidates)


def _weekend(day: datetime) -> bool:
    return day.weekday() >= 5


def _place(story: Story, cut: int, *, now: datetime, trng: random.Random) -> None:
    """Choose the story's first day so that its cut step has happened and the next one
    (for solved tickets: the auto-close) has not; then stamp every step."""
    anchor = now.astimezone(MSK).replace(hour=0, minute=0, second=0, microsecond=0)
    steps = story.steps
    first = steps[0].minute
    must = steps[cut].minute
    if story.target == "closed":  # a follow-up must have been written, not answered
        must = max(s.minute for s in steps if s.ticket != 2 or s.op == "follow_up")
    latest = now - timedelta(minutes=2)
    earliest = now - timedelta(days=WINDOW_DAYS) + timedelta(hours=1)

    def at(day: int, minute: float) -> datetime:
        return anchor - timedelta(days=day) + timedelta(minutes=minute)

    low = max(0, math.ceil((at(0, must) - latest) / timedelta(days=1)))
    high = math.floor((at(0, first) - earliest) / timedelta(days=1))
    high = max(low, high)
    extra = trng.random()
    if story.target == "closed":
        days = list(range(low, high + 1))
        weights = [
            (0.75 + 0.5 * (1 - d / WINDOW_DAYS)) * (0.5 if _weekend(at(d, first)) else 1.0)
            for d in days
        ]
        day = trng.choices(days, weights)[0]
        spike = SPIKES.get(story.topic)
        if spike and extra < spike[1] and low <= spike[0] <= high:
            day = spike[0]
    elif story.target == "solved":
        close = steps[cut + 1].minute
        valid = [d for d in range(low, high + 1) if at(d, close) > now + timedelta(minutes=1)]
        day = trng.choice(valid) if valid else low
    else:
        spread = {"new": 1, "open": 3, "pending": 5, "on_hold": 14}[story.target]
        day = min(high, low + int(extra * extra * (spread + 1)))
    for step in steps:
        step.at = at(day, step.minute).astimezone(UTC)
    story.created_at = steps[0].at
    # what has not happened yet is not done: the steps after the cut (or, for a closed
    # story's follow-up, after now)
    if story.target == "closed":
        story.steps = [s for s in steps if s.at is not None and s.at <= latest]
    else:
        story.steps = steps[: cut + 1]


def make_plan(*, seed: int, tickets: int, now: datetime) -> Plan:
    rng = random.Random(seed)
    trng = random.Random(f"{seed}/time")
    contacts = make_contacts(rng, contact_count(tickets))
    by_language: dict[str, list[int]] = {"ru": [], "en": []}
    for index, person in enumerate(contacts):
        by_language[person.language].append(index)
    # some customers write a lot, most a few times
    weights = {
        lang: [1 / (i + 1) ** 0.6 for i in range(len(ids))] for lang, ids in by_language.items()
    }
    targets = status_targets(tickets)
    rng.shuffle(targets)
    queue = deque(targets)
    closed_left = targets.count("closed")
    stories: list[Story] = []
    while queue:
        target = queue.popleft()
        closed_left -= target == "closed"
        if target == "on_hold":
            topic = TOPIC_BY_KEY[rng.choice(HOLD_TOPICS)]
        else:
            topic = rng.choices(TOPICS, [t.weight for t in TOPICS])[0]
        language = "ru" if rng.random() < 0.6 else "en"
        contact_index = rng.choices(by_language[language], weights[language])[0]
        story = _build(rng, trng, topic, contact_index, contacts[contact_index], target,
                       spare=min(1, closed_left))  # fmt: skip
        for _ in range(story.tickets - 1):  # the extra ticket takes a closed one's place
            _remove_last(queue, "closed")
            closed_left -= 1
        _place(story, _cut(story, rng), now=now, trng=trng)
        stories.append(story)
    stories.sort(key=lambda s: (s.created_at or now, s.subject))
    return Plan(seed, now, contacts, organization_count(len(contacts)), stories)


def _remove_last(queue: deque[str], value: str) -> None:
    for i in range(len(queue) - 1, -1, -1):
        if queue[i] == value:
            del queue[i]
            return
