"""Email intake benchmark: messages parsed, and parsed + ingested, per second; peak RSS.

    .venv/bin/python -m benchmarks.email --backend sqlite            # writes nothing
    .venv/bin/python -m benchmarks.email --backend postgres --record # updates RESULTS.md

Builds a mixed corpus (``--messages``, 3,000 by default; the same every run): new
requests in Russian and English as plain text, HTML with an inline image, mail with
attachments (a 40 KB PDF-like file with a Cyrillic name), windows-1251 and koi8-r mail
without a declared charset, replies to earlier messages with quoted history (Gmail and
Outlook style), auto-replies and bulk mail. Then, on a fresh database with one mailbox:

- ``parse``: ``parse_email`` + quote stripping of every message, no database;
- ``ingest``: ``ingest_email`` of every message, one transaction each (as the pipe and
  the SMTP receiver do), sequentially, in this process: the messages per second, the
  per-message latency p50/p95, and the process's peak RSS.

Receipts and replies are queued as jobs (written in the same transactions, as in real
use) but not sent: sending is the worker's part and is not timed here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import threading as pythreading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import psutil

from benchmarks._results import report
from benchmarks.api import pct

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "opora_bench_email"
MAILBOX = "support@acme-help.ru"

RU_SUBJECTS = [
    "Не могу войти в аккаунт", "Не приходит СМС с кодом", "Пропали сообщения в чате",
    "Вопрос по оплате подписки", "Ошибка при загрузке фото", "Как удалить аккаунт?",
    "Жалоба на работу приложения", "Не работает восстановление пароля",
]  # fmt: skip
EN_SUBJECTS = [
    "Cannot sign in", "Two-factor code never arrives", "Refund for a double charge",
    "App crashes on start", "How do I export my data?", "Photos fail to upload",
]  # fmt: skip
RU_BODY = (
    "Здравствуйте!\n\nПосле обновления приложения до версии 5.10 не могу {what}. "
    "Пробовал перезагрузить телефон и переустановить приложение — не помогло.\n"
    "Телефон: Samsung Galaxy A52, Android 13.\n\nС уважением,\n{name}\n"
)
EN_BODY = (
    "Hello,\n\nSince yesterday I cannot {what}. I have tried restarting the app and "
    "clearing the cache, nothing helped.\nDevice: iPhone 14, iOS 17.4.\n\nThanks,\n{name}\n"
)
RU_NAMES = ["Иван Петров", "Мария Смирнова", "Алексей Кузнецов", "Ольга Соколова", "Дмитрий"]
EN_NAMES = ["Anna Smith", "John Brown", "Emily Clark", "Michael Young", "Sarah Lee"]
PDF = b"%PDF-1.4\n" + bytes(random.Random(7).randbytes(40_000)) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(random.Random(8).randbytes(3_000))


def _message(rng: random.Random, i: int, sent: list[tuple[str, str, str]]) -> tuple[bytes, str]:
    """One message of the mix, and its kind."""
    russian = rng.random() < 0.6
    name = rng.choice(RU_NAMES if russian else EN_NAMES)
    sender = f"user{rng.randrange(800)}@{'mail.ru' if russian else 'example.com'}"
    subject = rng.choice(RU_SUBJECTS if russian else EN_SUBJECTS)
    what = "войти в аккаунт" if russian else "sign in"
    body = (RU_BODY if russian else EN_BODY).format(what=what, name=name)
    roll = rng.random()
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = MAILBOX
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = f"<bench.{i}.{rng.randrange(10**9)}@{sender.split('@')[1]}>"
    msg["Message-ID"] = message_id
    kind = "plain"
    if roll < 0.20 and sent:
        kind = "reply"
        parent_id, parent_subject, parent_from = rng.choice(sent)
        msg.replace_header("From", parent_from)
        msg["Subject"] = f"Re: {parent_subject}"
        msg["In-Reply-To"] = parent_id
        msg["References"] = parent_id
        quote = "\n".join("> " + line for line in body.splitlines())
        attribution = (
            "пн, 7 дек. 2026 г. в 10:12, Acme Support <support@acme-help.ru>:"
            if russian
            else "On Mon, 7 Dec 2026 at 10:12, Acme Support <support@acme-help.ru> wrote:"
        )
        msg.set_content(
            ("Спасибо, но проблема осталась." if russian else "Thanks, but it still fails.")
            + f"\n\n{attribution}\n{quote}\n"
        )
    elif roll < 0.25:
        kind = "auto"
        msg["Subject"] = ("Автоответ: " if russian else "Automatic reply: ") + subject
        msg["Auto-Submitted"] = "auto-replied"
        msg.set_content("Я в отпуске до понедельника." if russian else "I am out of office.")
    elif roll < 0.45:
        kind = "html"
        msg["Subject"] = subject
        msg.set_content(body)
        html = "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
        msg.add_alternative(f"<html><body>{html}<img src=\"cid:shot{i}@bench\"></body></html>",
                            subtype="html")  # fmt: skip
        alt = msg.get_payload()[1]
        alt.add_related(PNG, maintype="image", subtype="png", cid=f"<shot{i}@bench>")
    elif roll < 0.60:
        kind = "attachment"
        msg["Subject"] = subject
        msg.set_content(body)
        filename = "отчёт об ошибке.pdf" if russian else "error report.pdf"
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=filename)
    elif roll < 0.68 and russian:
        kind = "legacy_charset"
        charset = rng.choice(["cp1251", "koi8_r"])
        head = (
            f"From: {sender}\r\nTo: {MAILBOX}\r\nMessage-ID: {message_id}\r\n"
            f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        )
        text = body.replace("—", "-").replace("\n", "\r\n")  # koi8-r has no dash
        raw = head.encode(charset) + text.encode(charset)
        sent.append((message_id, subject, sender))
        return raw, kind
    else:
        msg["Subject"] = subject
        msg.set_content(body)
    if kind in ("plain", "html", "attachment"):
        sent.append((message_id, subject, msg["From"]))
    return msg.as_bytes(), kind


def corpus(n: int, seed: int = 1) -> list[tuple[bytes, str]]:
    rng = random.Random(seed)
    sent: list[tuple[str, str, str]] = []
    return [_message(rng, i, sent) for i in range(n)]


class PeakRss:
    """Samples this process's RSS every 20 ms in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = pythreading.Event()
        self._proc = psutil.Process()
        self._thread = pythreading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


async def _fresh_database(backend: str, data_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'opora.db'}"
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", PG_DB
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


async def _ingest(
    backend: str, messages: list[tuple[bytes, str]], batch: int
) -> tuple[float, list[float], float, dict[str, int]]:
    """Take every message in on a fresh database: (messages/s, latencies of each
    transaction, peak RSS, statuses). ``batch`` 1: ``ingest_email``, one transaction per
    message (the pipe); more: ``ingest_many`` with that many per transaction (an IMAP
    poll, the SMTP receiver while deliveries arrive together)."""
    from opora.auth.actor import system_actor
    from opora.auth.schemas import GroupCreate
    from opora.auth.service import create_group
    from opora.channels.email.intake import Delivery, ingest_many
    from opora.channels.email.models import Mailbox, Route
    from opora.channels.email.service import ingest_email, ingest_options
    from opora.config import Settings
    from opora.db import Database
    from opora.migrations import runner

    with tempfile.TemporaryDirectory(prefix="opora-bench-email-") as tmp:
        data_dir = Path(tmp)
        url = await _fresh_database(backend, data_dir)
        settings = Settings(data_dir=data_dir, database_url=url, run_worker_in_process=False)
        await runner.upgrade(url)
        db = Database(url, settings=settings)
        try:
            async with db.unit_of_work() as s:
                group = await create_group(
                    s, actor=system_actor("bench"), data=GroupCreate(name="L1", line=1)
                )
                s.add(Mailbox(name="Support", address=MAILBOX, group_id=group.id,
                              sender_name="Acme Support"))  # fmt: skip
            options = ingest_options(settings.model_copy(update={"email_sender_limit": 10**6}))
            latencies = []
            statuses: dict[str, int] = {}
            with PeakRss() as rss:
                started = time.perf_counter()
                for start in range(0, len(messages), batch):
                    chunk = messages[start : start + batch]
                    t = time.perf_counter()
                    if batch == 1:
                        async with db.unit_of_work() as s:
                            result = await ingest_email(
                                s, raw=chunk[0][0], route=Route.PIPE, options=options
                            )
                        outcomes: list[object] = [result]
                    else:
                        outcomes = list(await ingest_many(
                            db, [Delivery(raw) for raw, _ in chunk], route=Route.IMAP,
                            options=options,
                        ))  # fmt: skip
                    latencies.append(time.perf_counter() - t)
                    for outcome in outcomes:
                        status = str(getattr(outcome, "status", type(outcome).__name__))
                        statuses[status] = statuses.get(status, 0) + 1
                elapsed = time.perf_counter() - started
        finally:
            await db.dispose()
    return len(messages) / elapsed, latencies, rss.peak, statuses


async def bench(backend: str, n: int, batch: int) -> dict[str, tuple[float, str]]:
    from opora.app import load_job_modules
    from opora.channels.email.parsing import parse_email
    from opora.channels.email.quotes import extract_reply, strip_html_reply

    load_job_modules()
    messages = corpus(n)
    kinds: dict[str, int] = {}
    for _, kind in messages:
        kinds[kind] = kinds.get(kind, 0) + 1
    size = sum(len(raw) for raw, _ in messages)
    print(f"corpus: {n} messages, {size / 2**20:.1f} MiB, " + ", ".join(
        f"{k} {v}" for k, v in sorted(kinds.items())))  # fmt: skip

    t0 = time.perf_counter()
    for raw, _ in messages:
        parsed = parse_email(raw)
        extract_reply(parsed.text)
        if parsed.raw_html:
            strip_html_reply(parsed.raw_html)
    parse_rate = n / (time.perf_counter() - t0)
    print(f"parse: {parse_rate:,.0f} messages/s")

    figures: dict[str, tuple[float, str]] = {
        "email.parse.per_second": (parse_rate, "messages/s"),
    }
    key = f"email.{backend}"
    for size_, name in ((1, "ingest"), (batch, "batch")):
        rate, latencies, peak, statuses = await _ingest(backend, messages, size_)
        what = "one per transaction" if size_ == 1 else f"{size_} per transaction"
        print(f"ingest ({backend}, {what}): {rate:,.0f} messages/s, per transaction p50 "
              f"{pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms, peak RSS "
              f"{peak / 2**20:.0f} MiB; "
              + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))  # fmt: skip
        figures[f"{key}.{name}.per_second"] = (rate, "messages/s")
        figures[f"{key}.{name}.p50_ms"] = (pct(latencies, 0.5), "ms")
        figures[f"{key}.{name}.p95_ms"] = (pct(latencies, 0.95), "ms")
        if size_ == 1:
            figures[f"{key}.ingest.mean_ms"] = (statistics.mean(latencies) * 1000, "ms")
        figures[f"{key}.{name}.peak_rss_mb" if size_ > 1 else f"{key}.peak_rss_mb"] = (
            peak / 2**20, "MiB"
        )  # fmt: skip
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description="Email intake benchmark")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=50, help="messages per transaction")
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    args = parser.parse_args()
    figures = await bench(args.backend, args.messages, max(2, args.batch))
    report("email", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
