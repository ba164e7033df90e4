"""The application factory: the only place routers are included."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opora import __version__, events
from opora.config import Settings, get_settings
from opora.db import Database
from opora.errors import install_handlers
from opora.realtime.hub import MemoryHub, RedisHub

log = logging.getLogger(__name__)


def load_job_modules() -> None:
    """Import every module that registers jobs, so any process can run any job, and
    install the in-transaction event subscribers (notifications), so every process that
    changes tickets writes the notifications those changes call for."""
    import opora.auth.jobs
    import opora.automation.jobs
    import opora.channels.email.jobs
    import opora.jobs.builtin
    import opora.notifications.jobs
    import opora.sla.jobs  # noqa: F401
    from opora.automation import routing_subscriber
    from opora.automation import subscribers as automation_subscribers
    from opora.notifications import subscribers
    from opora.sla import subscribers as sla_subscribers

    sla_subscribers.install()  # first: a receipt already knows the first-response due time
    # the triggers after the SLA clock (they read the ticket's SLA state and calendar)
    automation_subscribers.install()
    # routing after the triggers (a trigger may set a new ticket's group) and before the
    # notifications (so "assigned to you" reaches the routed agent)
    routing_subscriber.install()
    subscribers.install()


def migration_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def create_app(settings: Settings | None = None, *, run_worker: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    load_job_modules()
    worker_enabled = settings.run_worker_in_process if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url, settings=settings)
        app.state.db = db
        hub: Any = MemoryHub()
        if settings.redis_url:
            hub = RedisHub(settings.redis_url)
            await hub.start()
        app.state.hub = hub

        async def to_hub(event: events.DomainEvent) -> None:
            await hub.publish({"name": event.name, "payload": event.payload})

        events.subscribe(to_hub)
        smtp_server = None
        if settings.smtp_listen:
            from opora.channels.email.receiver import start_receiver
            from opora.channels.email.service import ingest_options

            smtp_server = await start_receiver(
                db, ingest_options(settings), listen=settings.smtp_listen,
                lmtp=settings.smtp_listen_lmtp, max_bytes=settings.max_email_bytes,
            )  # fmt: skip
        stop = asyncio.Event()
        worker_task = None
        if worker_enabled:
            from opora.jobs.worker import Worker

            worker = Worker(db, settings)
            app.state.worker = worker
            worker_task = asyncio.create_task(worker.run(stop))
        try:
            yield
        finally:
            if smtp_server is not None:
                smtp_server.close()
                await smtp_server.wait_closed()
            stop.set()
            if worker_task:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            events.unsubscribe(to_hub)
            await hub.close()
            await db.dispose()

    app = FastAPI(
        title="Opora",
        version=__version__,
        description="Open-source help desk: tickets, contacts, lines L1-L3, SLAs.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.migration_head = migration_head()
    install_handlers(app)

    from opora.auth.pages import router as auth_pages_router
    from opora.web import i18n
    from opora.web.error_pages import install_error_pages
    from opora.web.framing import DenyFraming
    from opora.web.page_auth import install_page_handlers
    from opora.web.sessions import install_sessions
    from opora.web.templating import mount_static

    i18n.load_all()
    app.add_middleware(DenyFraming)  # no page of ours in another site's frame (but the embed)
    install_sessions(app, settings)
    install_page_handlers(app)
    install_error_pages(app)
    mount_static(app)
    app.include_router(auth_pages_router)

    from opora.views.pages import router as views_pages_router

    app.include_router(views_pages_router)

    from opora.views.editor_pages import router as views_editor_router

    app.include_router(views_editor_router)

    from opora.views.nav_pages import router as views_nav_router
    from opora.web.live import router as live_router

    app.include_router(views_nav_router)
    app.include_router(live_router)

    from opora.tickets.new_pages import router as new_ticket_router
    from opora.tickets.pages import router as tickets_pages_router

    app.include_router(new_ticket_router)  # before /tickets/{ticket_id}: "new" is no id
    app.include_router(tickets_pages_router)

    from opora.admin.automation import router as admin_automation_router
    from opora.admin.mailboxes import router as admin_mailboxes_router
    from opora.admin.notifications import router as admin_notifications_router
    from opora.admin.pages import router as admin_pages_router
    from opora.admin.sla import router as admin_sla_router
    from opora.admin.ticket_forms import router as admin_forms_router

    app.include_router(admin_pages_router)
    app.include_router(admin_forms_router)
    app.include_router(admin_mailboxes_router)
    app.include_router(admin_notifications_router)
    app.include_router(admin_sla_router)
    app.include_router(admin_automation_router)

    from opora.contacts.pages import router as people_pages_router
    from opora.search.pages import router as search_pages_router

    app.include_router(people_pages_router)
    app.include_router(search_pages_router)

    from opora.channels.email.pages import router as email_pages_router
    from opora.tickets.request_pages import router as request_pages_router

    app.include_router(request_pages_router)
    app.include_router(email_pages_router)

    from opora.kb.public import forms as help_forms_router
    from opora.kb.public import router as help_router

    app.include_router(help_router)  # the help center: /help, articles, search
    app.include_router(help_forms_router)

    from opora.portal.pages import router as portal_pages_router
    from opora.portal.request_form import embed_router
    from opora.portal.request_form import router as request_form_router

    app.include_router(request_form_router)  # before /help/requests/{id}: "new" is no id
    app.include_router(portal_pages_router)
    app.include_router(embed_router)

    from opora.kb.pages import router as kb_pages_router
    from opora.reports.pages import router as reports_pages_router

    app.include_router(kb_pages_router)

    app.include_router(reports_pages_router)

    from opora.auth.api import router as auth_router
    from opora.automation.api import router as automation_router
    from opora.channels.email.api import router as email_router
    from opora.contacts.api import router as contacts_router
    from opora.fields.api import router as fields_router
    from opora.kb.analytics_api import router as kb_analytics_router
    from opora.kb.api import router as kb_router
    from opora.notifications.api import router as notifications_router
    from opora.sla.api import router as sla_router
    from opora.tickets.api import router as tickets_router
    from opora.tickets.public import router as customer_router
    from opora.views.api import router as views_router

    for router in (
        tickets_router,
        customer_router,
        contacts_router,
        auth_router,
        fields_router,
        views_router,
        email_router,
        notifications_router,
        sla_router,
        automation_router,
        kb_router,
        kb_analytics_router,
    ):
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        db: Database = request.app.state.db
        try:
            async with db.read_engine.connect() as conn:
                try:
                    current = (
                        await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar_one_or_none()
                except DBAPIError:  # reachable, but never migrated: no alembic_version
                    current = None
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "reason": f"database: {type(exc).__name__}"},
                status_code=503,
            )
        head = request.app.state.migration_head
        if current != head:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": f"migrations: database at {current}, code at {head}; "
                    "run `opora migrate`",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ok", "version": __version__, "migration": current})

    return app
