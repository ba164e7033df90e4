"""Settings from the environment (prefix ``OPORA_``).

Nothing reads settings at import time: ``get_settings()`` is called by ``create_app``,
the CLI and the worker, and tests build their own ``Settings``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPORA_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None

    # web sessions: the cookie signing key (generated into <data_dir>/secret_key when unset)
    secret_key: str | None = None
    cookie_secure: bool = False

    # outgoing email (notifications.send_email) and the links it carries
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # upgrade a plain connection with STARTTLS
    smtp_ssl: bool = False  # implicit TLS from the first byte (usually port 465)
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Opora <support@localhost>"
    base_url: str = "http://127.0.0.1:8000"

    # attachments
    max_attachment_bytes: int = 25 * 1024 * 1024

    # incoming email: the per-sender limit (a loop brake), the SMTP/LMTP receiver of
    # `opora serve` ("host:port"; unset: no receiver), the largest message it takes, and
    # an extra CA file to trust for IMAP servers with their own certificate authority
    email_sender_limit: int = 20
    email_sender_window_seconds: int = 600
    smtp_listen: str | None = None
    smtp_listen_lmtp: bool = False
    max_email_bytes: int = 50 * 1024 * 1024
    email_ca_file: str | None = None

    # jobs
    run_worker_in_process: bool = True
    worker_poll_seconds: float = 1.0
    job_lease_seconds: int = 300

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'opora.db').resolve()}"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def get_settings() -> Settings:
    return Settings()


SECRET_FILE = "secret_key"


def load_secret_key(settings: Settings) -> str:
    """The configured key, or the one kept in the data dir (created once, atomically)."""
    if settings.secret_key:
        return settings.secret_key
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return key


def _create_secret_file(path: Path) -> None:
    """Write a new key to a private temporary file and link it into place: if another
    process got there first, the link fails and its key is kept."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
