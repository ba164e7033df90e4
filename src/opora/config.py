"""Settings from the environment (prefix ``OPORA_``).

Nothing reads settings at import time: ``get_settings()`` is called by ``create_app``,
the CLI and the worker, and tests build their own ``Settings``.
"""

from __future__ import annotations

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
