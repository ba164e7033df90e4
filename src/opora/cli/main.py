"""``opora serve | worker | migrate | demo | createadmin | token create | jobs list|retry |
sessions revoke | mail ingest|poll|check``."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Annotated

import typer

from opora.config import Settings, get_settings

app = typer.Typer(help="Opora help desk", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
app.add_typer(token_app, name="token")
jobs_app = typer.Typer(help="Background jobs: see what failed, retry it", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
sessions_app = typer.Typer(help="Signed-in browser sessions", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
mail_app = typer.Typer(help="Incoming email: take mail in, poll mailboxes", no_args_is_help=True)
app.add_typer(mail_app, name="mail")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


async def _migrate(settings: Settings) -> str | None:
    from opora.migrations import runner

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if await runner.ensure_database(url):
        typer.echo("created the database", err=True)
    await runner.upgrade(url)
    return await runner.current(url)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (creates the SQLite file, or the PostgreSQL
    database, when needed)."""
    settings = get_settings()
    revision = asyncio.run(_migrate(settings))
    typer.echo(f"database at revision {revision}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="run the job worker in this process [default: OPORA_RUN_WORKER_IN_PROCESS, true]",
            show_default=False,
        ),
    ] = None,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
    smtp: Annotated[
        str | None,
        typer.Option(
            help="also receive mail by SMTP on host:port [default: OPORA_SMTP_LISTEN, off]",
            show_default=False,
        ),
    ] = None,
    lmtp: Annotated[
        bool | None,
        typer.Option("--lmtp/--no-lmtp", help="speak LMTP instead of SMTP on --smtp"),
    ] = None,
    log_level: str = "info",
) -> None:
    """Serve HTTP (and, by default, run the job worker in the same process; with --smtp,
    an SMTP/LMTP receiver for incoming mail too)."""
    import uvicorn

    from opora.app import create_app

    settings = get_settings()
    if smtp is not None:
        settings.smtp_listen = smtp
    if lmtp is not None:
        settings.smtp_listen_lmtp = lmtp
    if migrate_first:
        asyncio.run(_migrate(settings))
    application = create_app(settings, run_worker=worker)
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option(help="run what is due now, then exit")] = False,
) -> None:
    """Run the job worker alone (scale-out mode runs several)."""
    _logging()
    from opora.app import load_job_modules
    from opora.db import Database
    from opora.jobs.worker import Worker

    settings = get_settings()
    load_job_modules()

    async def main() -> None:
        db = Database(settings.resolved_database_url, settings=settings)
        worker = Worker(db, settings)
        try:
            if once:
                count = await worker.run_once()
                typer.echo(f"ran {count} job(s)")
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await worker.run(stop)
        finally:
            await db.dispose()

    asyncio.run(main())


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="do nothing when the database has tickets")
    ] = False,
    tickets: Annotated[int, typer.Option(help="how many tickets to create")] = 3000,
    seed: Annotated[int, typer.Option(help="random seed, for the same data every time")] = 7,
) -> None:
    """Load a believable demo company (lines L1-L3, agents, customers, tickets)."""
    from opora.demo import load_demo

    settings = get_settings()

    async def main() -> None:
        await _migrate(settings)
        summary = await load_demo(settings, tickets=tickets, seed=seed, if_empty=if_empty)
        typer.echo(summary)

    asyncio.run(main())


@app.command()
def createadmin(
    email: Annotated[str, typer.Option(help="the admin's email")],
    password: Annotated[
        str, typer.Option(help="at least 8 characters", prompt=True, hide_input=True)
    ],
    name: Annotated[str, typer.Option(help="display name")] = "Administrator",
) -> None:
    """Create an admin user (or make an existing user an admin with this password)."""
    from pydantic import ValidationError

    from opora.auth import repository, service
    from opora.auth.actor import system_actor
    from opora.auth.schemas import UserCreate, UserUpdate
    from opora.db import Database
    from opora.errors import OporaError
    from opora.kit.text import normalize_email

    settings = get_settings()

    async def main() -> str:
        await _migrate(settings)
        db = Database(settings.resolved_database_url, settings=settings)
        actor = system_actor("cli")
        try:
            async with db.unit_of_work() as session:
                existing = await repository.get_user_by_email(session, normalize_email(email))
                if existing:
                    await service.update_user(
                        session,
                        actor=actor,
                        user_id=existing.id,
                        data=UserUpdate(role="admin", password=password, is_active=True),
                    )
                    return f"user {existing.email} is now an admin"
                user = await service.create_user(
                    session,
                    actor=actor,
                    data=UserCreate(email=email, name=name, password=password, role="admin"),
                )
                return f"created admin {user.email} (id {user.id})"
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(main()))
    except ValidationError as exc:
        err = exc.errors()[0]
        typer.echo(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(2) from exc
    except OporaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="a user's or a contact's email")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
) -> None:
    """Print a new API token for the user or contact with this email."""
    from opora.auth import repository, service
    from opora.contacts import repository as contacts
    from opora.db import Database
    from opora.kit.text import normalize_email

    settings = get_settings()

    async def main() -> str | None:
        await _migrate(settings)  # a fresh data dir has no users yet, but no traceback either
        db = Database(settings.resolved_database_url, settings=settings)
        address = normalize_email(email)
        try:
            async with db.unit_of_work() as session:
                user = await repository.get_user_by_email(session, address)
                if user is not None and user.is_active:
                    _, raw = await service.create_token(session, user_id=user.id, name=name)
                    return raw
                identity = await contacts.find_identity(session, "email", address)
                if identity is not None:
                    _, raw = await service.create_token(
                        session, contact_id=identity.contact_id, name=name
                    )
                    return raw
                return None
        finally:
            await db.dispose()

    raw = asyncio.run(main())
    if raw is None:
        typer.echo(f"error: no active user or contact has the email {email}", err=True)
        raise typer.Exit(2)
    typer.echo(raw)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option(help="only jobs in this status: pending, running, done, dead")
    ] = None,
    name: Annotated[str | None, typer.Option(help="only jobs with this name")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
) -> None:
    """List jobs, newest first, with their attempts and last error."""
    from opora.db import Database
    from opora.jobs.models import JobStatus
    from opora.jobs.service import list_jobs

    if status is not None and status not in set(JobStatus):
        typer.echo(f"error: --status must be one of {', '.join(JobStatus)}", err=True)
        raise typer.Exit(2)
    settings = get_settings()

    async def main() -> list[str]:
        db = Database(settings.resolved_database_url, settings=settings)
        try:
            async with db.unit_of_work(write=False) as session:
                jobs = await list_jobs(session, status=status, name=name, limit=limit)
                lines = []
                for job in jobs:
                    error = (job.last_error or "").strip().splitlines()
                    lines.append(
                        f"{job.id}\t{job.name}\t{job.status}\t{job.attempts}/{job.max_attempts}"
                        f"\t{job.run_at:%Y-%m-%d %H:%M:%S}Z\t{error[0][:200] if error else ''}"
                    )
                return lines
        finally:
            await db.dispose()

    lines = asyncio.run(main())
    if not lines:
        typer.echo("no jobs")
        return
    typer.echo("id\tname\tstatus\tattempts\trun_at\tlast_error")
    for line in lines:
        typer.echo(line)


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="the job's id")]) -> None:
    """Put a dead job back in the queue (or run a job waiting out its back-off now)."""
    from opora.db import Database
    from opora.errors import OporaError
    from opora.jobs.service import retry_job

    settings = get_settings()

    async def main() -> str:
        db = Database(settings.resolved_database_url, settings=settings)
        try:
            async with db.unit_of_work() as session:
                job = await retry_job(session, job_id=job_id)
                return f"job {job.id} ({job.name}) is pending again"
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(main()))
    except OporaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


@sessions_app.command("revoke")
def sessions_revoke(
    email: Annotated[
        str | None, typer.Option(help="sign out every browser of the user with this email")
    ] = None,
    all_users: Annotated[bool, typer.Option("--all", help="sign out everyone")] = False,
) -> None:
    """Sign browsers out of the pages at once (after a leak, or a lost laptop)."""
    from opora.auth import repository, service
    from opora.auth.actor import system_actor
    from opora.db import Database
    from opora.kit.text import normalize_email

    if (email is None) == (not all_users):
        typer.echo("error: give either --email ADDRESS or --all", err=True)
        raise typer.Exit(2)
    settings = get_settings()

    async def main() -> int | None:
        db = Database(settings.resolved_database_url, settings=settings)
        actor = system_actor("cli")
        try:
            async with db.unit_of_work() as session:
                if all_users:
                    return await service.revoke_all_sessions(session, actor=actor)
                user = await repository.get_user_by_email(session, normalize_email(email or ""))
                if user is None:
                    return None
                return await service.revoke_sessions(session, actor=actor, user_id=user.id)
        finally:
            await db.dispose()

    count = asyncio.run(main())
    if count is None:
        typer.echo(f"error: no user has the email {email}", err=True)
        raise typer.Exit(2)
    typer.echo(f"signed out {count} session{'' if count == 1 else 's'}")


if __name__ == "__main__":
    app()


# --- mail --------------------------------------------------------------------------------

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again


@mail_app.command("ingest")
def mail_ingest(
    mailbox: Annotated[
        str | None,
        typer.Option(help="the mailbox's name [default: by the message's recipients]"),
    ] = None,
) -> None:
    """Take one raw message from standard input (an MTA alias: `| opora mail ingest`).

    Prints the number of the ticket it landed on. Exits 1 with the reason when the
    message is refused (a loop, the rate limit, no sender) — it is kept all the same —,
    2 when it cannot be taken at all (not an email, no such mailbox), and 75 (EX_TEMPFAIL,
    the MTA retries) when the database is unreachable."""
    raw = sys.stdin.buffer.read()
    settings = get_settings()

    async def main() -> int:
        from opora.app import load_job_modules
        from opora.channels.email.models import Route
        from opora.channels.email.service import ingest_email, ingest_options
        from opora.db import Database
        from opora.errors import OporaError

        load_job_modules()
        db = Database(settings.resolved_database_url, settings=settings)
        try:
            async with db.unit_of_work() as session:
                result = await ingest_email(
                    session, raw=raw, route=Route.PIPE, options=ingest_options(settings),
                    mailbox_name=mailbox,
                )  # fmt: skip
        except OporaError as exc:
            typer.echo(f"refused: {exc.message}", err=True)
            return 2
        except Exception as exc:  # the database is down, the disk is full: try again later
            typer.echo(f"temporary failure: {exc}", err=True)
            return EX_TEMPFAIL
        finally:
            await db.dispose()
        if result.accepted and result.ticket_number is not None:
            typer.echo(f"#{result.ticket_number}")
            if result.duplicate:
                typer.echo("(already taken in before: the same Message-ID)", err=True)
            return 0
        if result.accepted:  # a bounce about a message we do not know
            typer.echo(result.reason, err=True)
            return 0
        typer.echo(f"{result.status}: {result.reason}", err=True)
        return 1

    raise typer.Exit(asyncio.run(main()))


@mail_app.command("poll")
def mail_poll(
    mailbox: Annotated[str | None, typer.Option(help="only this mailbox (by name)")] = None,
) -> None:
    """Poll the IMAP mailboxes now (the worker polls them on their interval anyway)."""
    _logging()
    settings = get_settings()

    async def main() -> int:
        from opora.app import load_job_modules
        from opora.channels.email import polling, repository
        from opora.channels.email.service import ingest_options
        from opora.db import Database

        load_job_modules()
        db = Database(settings.resolved_database_url, settings=settings)
        failed = 0
        try:
            async with db.unit_of_work(write=False) as session:
                boxes = [m for m in await repository.mailboxes(session) if m.imap_enabled]
            if mailbox is not None:
                boxes = [m for m in boxes if m.name.lower() == mailbox.lower()]
                if not boxes:
                    typer.echo(f"no IMAP mailbox is named {mailbox!r}", err=True)
                    return 2
            for box in boxes:
                result = await polling.poll_mailbox(
                    db, mailbox_id=box.id, options=ingest_options(settings),
                    ca_file=settings.email_ca_file,
                )  # fmt: skip
                line = f"{box.name}: {result.fetched} fetched, {result.ingested} taken in"
                if result.tickets:
                    line += " (" + ", ".join(f"#{n}" for n in result.tickets) + ")"
                if result.error:
                    line += f"; error: {result.error}"
                    failed += 1
                typer.echo(line)
        finally:
            await db.dispose()
        return 1 if failed else 0

    raise typer.Exit(asyncio.run(main()))


@mail_app.command("check")
def mail_check(mailbox: Annotated[str, typer.Option(help="the mailbox's name")]) -> None:
    """Connect to a mailbox's IMAP server and say what is there (changes nothing)."""
    settings = get_settings()

    async def main() -> int:
        from opora.channels.email import imap, polling, repository
        from opora.db import Database

        db = Database(settings.resolved_database_url, settings=settings)
        try:
            async with db.unit_of_work(write=False) as session:
                box = await repository.mailbox_by_name(session, mailbox)
        finally:
            await db.dispose()
        if box is None or not box.imap_enabled:
            typer.echo(f"no IMAP mailbox is named {mailbox!r}", err=True)
            return 2
        check = await imap.check_mailbox(polling.imap_config(box, ca_file=settings.email_ca_file))
        typer.echo(check.message)
        return 0 if check.ok else 1

    raise typer.Exit(asyncio.run(main()))
