"""Browser tests: the real app in a subprocess, driven by Debian's Chromium through Playwright.

``make test`` installs the browser (``scripts/install-browser``: ``apt-get install chromium
fonts-dejavu-core`` when running as root); Playwright never downloads one and always launches
``/usr/bin/chromium`` by ``executable_path``. Without it the tests skip with the reason, or
fail under ``OPORA_REQUIRE_SERVICES=1``.

One server and one browser serve this package and stop when its tests are done; each test
gets a fresh browser context (no cookies carried over) and makes its own users, so tests stay
independent. Screenshots go to ``test-artifacts/screenshots/<test name>[-<step>].png``; a
failing test leaves one too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import Role
from opora.auth.schemas import Language, UserCreate
from opora.db import Database
from tests.conftest import skip_or_fail

CHROMIUM = os.environ.get("OPORA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # no network here: without these Chromium keeps dialling Google's services
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
SERVER_START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    log: Path

    async def create_user(
        self,
        *,
        email: str,
        password: str,
        name: str = "Browser Agent",
        role: Role = Role.AGENT,
        language: Language = "en",
    ) -> int:
        """A user made through the services, in the server's own database."""
        db = Database(self.database_url)
        try:
            async with db.unit_of_work() as s:
                user = await auth_service.create_user(
                    s,
                    actor=system_actor("browser tests"),
                    data=UserCreate(
                        email=email,
                        name=name,
                        role=role,
                        language=language,
                        password=password,
                    ),
                )
                return user.id
        finally:
            await db.dispose()


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest_asyncio.fixture(scope="package")
async def live_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> AsyncIterator[LiveServer]:
    """``opora serve`` in a subprocess, on a copy of the session's migrated SQLite file."""
    data_dir = tmp_path_factory.mktemp("live-server")
    shutil.copy(sqlite_template, data_dir / "opora.db")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'opora.db'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env["OPORA_DATA_DIR"] = str(data_dir)
    log = data_dir / "server.log"
    command = [sys.executable, "-m", "opora.cli.main", "serve", "--port", str(port)]
    command += ["--no-worker", "--no-migrate", "--log-level", "warning"]
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            while True:
                if proc.returncode is not None:
                    pytest.fail(f"opora serve exited with {proc.returncode}:\n{_log_tail(log)}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    late = f"opora serve not healthy in {SERVER_START_SECONDS}s"
                    pytest.fail(f"{late}:\n{_log_tail(log)}")
                await asyncio.sleep(0.1)
        yield LiveServer(url=url, database_url=database_url, log=log)
    finally:
        if proc.returncode is None:
            proc.terminate()  # SIGTERM: uvicorn shuts down gracefully
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture(scope="package")
def chromium() -> str:
    """Debian's Chromium, or a skip (a failure under OPORA_REQUIRE_SERVICES=1) saying why."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(
            f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (as root, apt-get)"
        )
    return CHROMIUM


@pytest_asyncio.fixture(scope="package")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remembers whether the test failed, for the page fixtures' failure screenshot."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


def _screenshot_name(request: pytest.FixtureRequest, step: str | None) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return SCREENSHOTS / (f"{name}-{step}.png" if step else f"{name}.png")


async def _new_page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    viewport: ViewportSize,
) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=live_server.url, viewport=viewport, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(TIMEOUT_MS)
    # Only the live server is reachable: anything else (a CDN) fails at once, not by timeout.
    await context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda r: r.abort())
    page = await context.new_page()
    try:
        yield page
    finally:
        if request.node.stash.get(_FAILED, False):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                await page.screenshot(path=_screenshot_name(request, "failed"), full_page=True)
        await context.close()


@pytest_asyncio.fixture
async def page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A fresh context at 1366×768, English, with the live server as its base URL."""
    async for p in _new_page(browser, live_server, request, DESKTOP):
        yield p


@pytest_asyncio.fixture
async def phone_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """The same at a phone's 390×844."""
    async for p in _new_page(browser, live_server, request, PHONE):
        yield p


# The innermost elements that stick out on the right, to say what makes a page scroll.
STICKING_OUT = """
() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
    && ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 3)
  .map((el) => {
    const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/) : [];
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + classes.filter(Boolean).map((c) => "." + c).join("");
  })
"""
SIDEWAYS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


async def sideways_scroll(page: Page, settle_seconds: float = 3.0) -> str | None:
    """None when the page fits its window's width; otherwise what sticks out.

    A page caught mid-swap (an htmx swap, a live count reload, a busy CI machine) may be
    wider for a moment, so the width is checked until it fits or ``settle_seconds`` pass;
    a page that stays wider is reported with the elements that stick out."""
    deadline = time.monotonic() + settle_seconds
    while True:
        scroll_width, inner_width = await page.evaluate(SIDEWAYS)
        if scroll_width <= inner_width + 1:
            return None
        if time.monotonic() >= deadline:
            culprits = ", ".join(await page.evaluate(STICKING_OUT))
            return f"scrolls sideways ({scroll_width}px > {inner_width}px): {culprits}"
        await asyncio.sleep(0.1)


Screenshot = Callable[..., Awaitable[Path]]


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """``await screenshot(page)`` or ``await screenshot(page, "step")``: saves
    test-artifacts/screenshots/<test name>[-<step>].png (a full-page shot) and returns it."""

    async def take(page: Page, step: str | None = None) -> Path:
        path = _screenshot_name(request, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=path, full_page=True)
        return path

    return take
