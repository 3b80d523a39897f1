"""Settings from the environment (prefix ``CLINMATCH_``; ``DATABASE_URL`` also accepted unprefixed)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
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
    # Dense (whole-text vector) candidate search for GET /needs/{id}/matches (env CLINMATCH_DENSE_SEARCH):
    # "memory" = the in-process index ranks every active capability (default); "pgvector" = PostgreSQL picks the
    # top dense_candidates capabilities by exact cosine (embeddings.vec, no index) and only those are ranked;
    # "pgvector_hnsw" = the same through the HNSW index (hnsw.ef_search = hnsw_ef_search, iterative scan so that
    # dense_candidates rows come back). The pgvector modes need PostgreSQL: on SQLite the app refuses to start.
    dense_search: Literal["memory", "pgvector", "pgvector_hnsw"] = "memory"
    dense_candidates: int = Field(default=500, ge=1, le=100_000)
    hnsw_ef_search: int = Field(default=100, ge=1, le=1000)
    # Ranking: the sentence-level signals are computed for this many best first-stage candidates first (more if
    # the bound says a capability left out could still make the top k; results are exact either way); rankings are
    # cached per need until the capability index changes (0 = no cache).
    rerank_depth: int = Field(default=1000, ge=1, le=1_000_000)
    rank_cache_size: int = Field(default=256, ge=0, le=100_000)
    # Confidence bands of a match (its calibrated probability of being a real fit, matching/data/calibration.json):
    # at least band_strong = "strong", at least band_possible = "possible", below = "weak". The matches endpoints
    # show strong and possible ones by default; no company is notified of a weak match.
    band_strong: float = Field(default=0.6, gt=0, le=1)
    band_possible: float = Field(default=0.3, gt=0, le=1)
    # Worker threads for the (synchronous) endpoints of one server process (anyio's default is 40). Python runs one
    # thread at a time: more threads than requests that wait on something other than the CPU only add switching
    # (bench/api_throughput.py, 64 clients, SQLite: GET /needs/{id} 422 req/s with 40 threads, 518 with 8, 582 with 4).
    request_threads: int = Field(default=8, ge=1, le=1000)
    # Freeze what lives for the process (libraries, the match index) out of the garbage collector's scans after
    # start-up and after each bulk load or compaction of the index: full collections then pause for a few ms instead
    # of ~180 ms at 10k capabilities (docs/decisions.md; bench/gc_pauses.py). Off only to measure the difference.
    gc_freeze: bool = True
    # One JSON line per request on stderr (request id, route template, status, duration; no token, no query
    # string): app/access_log.py. Off: no access log at all (uvicorn's own, which prints query strings, stays off).
    access_log: bool = True
    # Page size limits for list endpoints.
    default_page_size: int = 20
    max_page_size: int = 100
    # Engagement documents: stored outside the database, content-addressed by SHA-256; size limit per file.
    attachments_dir: Path = Path("var/attachments")
    max_attachment_bytes: int = 20 * 1024 * 1024
    # Evidence of these milestone kinds (e.g. ["clinical_ethics_approval", "iacuc_approval"]) counts for a stage's
    # guard only with a document attached to it (env: a JSON list).
    evidence_documents_required: list[str] = Field(default_factory=list)
    # Any other request body (JSON, forms) larger than this is refused with 413 before it is read.
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Pipeline figures: a need counts as "matched" (a fitting partner exists) with a persisted match at least this good
    # (0: any of its persisted top matches).
    fit_min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    # Token prefix: helps secret scanners recognise leaked clinmatch tokens.
    token_prefix: str = "cm_"
    # Signs the dashboard sign-in form's CSRF cookie (env CLINMATCH_SECRET_KEY). Unset: a random key per process (a
    # sign-in form opened before a restart, or served by another worker, must be reloaded) and a warning at start-up.
    secret_key: str | None = None
    # Dashboard sessions (server-side, table web_sessions): they end after this long without a request, and in any
    # case this long after sign-in.
    session_idle_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    session_lifetime_hours: float = Field(default=8.0, gt=0, le=30 * 24)
    # People's sign-in: an invitation link (e-mailed; sets the first password) is good for this many days, a
    # password-reset link for this many minutes; each works once. Passwords have at least this many characters.
    invitation_days: float = Field(default=7.0, gt=0, le=90)
    password_reset_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    password_min_length: int = Field(default=10, ge=8, le=200)
    # Authentication failures (bad, revoked or expired tokens; failed dashboard sign-ins) allowed per client address
    # in a moving window; past that the address gets 429 with Retry-After, except for credentials that authenticated
    # recently (kept per process, like the counts).
    auth_failure_limit: int = Field(default=20, ge=1, le=1_000_000)
    auth_failure_window_seconds: int = Field(default=300, ge=1, le=86_400)

    # Conversations: the commission reads the threads of the needs it brokered (introductions); all threads when
    # this is true.
    commission_reads_all_threads: bool = False

    # --- notifications -------------------------------------------------------------------------------------------
    # The delivery worker runs inside `clinmatch serve` (a thread per server process) unless this is off; docker
    # compose turns it off and runs `clinmatch worker` as its own service.
    worker_in_process: bool = True
    worker_poll_seconds: float = 2.0
    worker_batch_size: int = 50
    # A claimed batch (events or deliveries) belongs to its worker this long; a worker killed mid-batch leaves its
    # claims to expire, and another worker (or itself, restarted) takes them up.
    worker_lease_seconds: float = 120.0
    # Webhooks: tries before a message goes dead; exponential backoff between tries (base * 2^(try-1), capped,
    # with +-20% jitter): 30 s, 1 min, 2 min, ... 6 h.
    delivery_max_attempts: int = 8
    delivery_backoff_base_seconds: float = 30.0
    delivery_backoff_max_seconds: float = 6 * 3600.0
    webhook_timeout_seconds: float = 10.0
    # Where webhooks may go (app/services/notifications/netguard.py): https only, and only to public addresses.
    # Development and tests: http too, and receivers named here (comma-separated host names, IP addresses or
    # networks, e.g. "127.0.0.1"), checked at registration and at every send. Both off by default.
    webhook_allow_http: bool = False
    webhook_allow_hosts: str = ""
    # E-mail through SMTP; unset host = no e-mail is sent (the inbox and webhooks still are).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = 15.0
    mail_from: str = "clinmatch <noreply@clinmatch.example.org>"
    # Digests go out at this hour, in this time zone (daily; weekly on Mondays).
    digest_hour: int = 8
    timezone: str = "Asia/Shanghai"
    # No silence: a need open this many days with no interested company, or a partnership with no transition or
    # milestone for this many days, raises a reminder to its parties and the commission (again every period).
    reminder_need_days: int = 14
    reminder_engagement_days: int = 30

    @model_validator(mode="after")
    def _bands_ordered(self) -> Settings:
        if self.band_possible > self.band_strong:
            raise ValueError("CLINMATCH_BAND_POSSIBLE must not exceed CLINMATCH_BAND_STRONG")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
