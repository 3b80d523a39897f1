"""Settings from the environment (prefix ``CLINMATCH_``; ``DATABASE_URL`` also accepted unprefixed)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLINMATCH_", env_file=".env", extra="ignore")

    # SQLite file by default (zero set-up); PostgreSQL when DATABASE_URL says so.
    database_url: str = Field(
        default="sqlite:///var/clinmatch.db",
        validation_alias=AliasChoices("DATABASE_URL", "CLINMATCH_DATABASE_URL"),
    )
    # Echo SQL (debugging only).
    sql_echo: bool = False
    # Base URL used in links (notifications, explanations).
    public_base_url: str = "http://127.0.0.1:8000"
    # Where the embedding model is built at set-up time; never downloaded at run time.
    model_dir: Path = Path("var/models")
    # "model" = the real sentence-transformers model from model_dir, "hashing" = deterministic fake (tests, dev).
    embedder: str = "model"
    # Page size limits for list endpoints.
    default_page_size: int = 20
    max_page_size: int = 100
    # Engagement documents: stored outside the database, content-addressed by SHA-256; size limit per file.
    attachments_dir: Path = Path("var/attachments")
    max_attachment_bytes: int = 20 * 1024 * 1024
    # Token prefix: helps secret scanners recognise leaked clinmatch tokens.
    token_prefix: str = "cm_"
    # Signs the dashboard's session cookie (env CLINMATCH_SECRET_KEY). Unset: a random key per process (sessions do
    # not survive a restart nor span workers) and a warning at start-up.
    secret_key: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
