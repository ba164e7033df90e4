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
