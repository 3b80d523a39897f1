"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import time
from contextlib import asynccontextmanager

from anyio import to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app import __version__, access_log
from app.access_log import AccessLog
from app.api import install_api
from app.config import Settings, get_settings
from app.db import PG_POOL_CAPACITY, make_engine
from app.errors import install_error_handlers
from app.jobs.worker import Worker
from app.limits import RequestLimits
from app.routing import index_routes
from app.security import AuthThrottle, SecurityMiddleware, install_docs
from app.services.matching.index import build_index, freeze_long_lived
from app.web import install_web
from app.write_queue import Admission
from matching import HashingEmbedder, SentenceTransformerEmbedder
from matching import load_embedder as load_model
from matching.model_build import ST_FOLDER

DESCRIPTION = """
clinmatch matches hospital departments' clinical needs with the enterprises, university labs and shared platforms
of Shanghai's Putuo district and the Jiangsu corridor that can solve them.

Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem details (`application/problem+json`).
Updates need the version you read (`version` in the body or `If-Match`); a stale version answers 409.
"""


log = logging.getLogger("clinmatch")


def load_embedder(settings: Settings):
    """The embedder the settings ask for: the real model built at set-up time, or the deterministic hashing one."""
    if settings.embedder == "hashing":
        return HashingEmbedder()
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embedding_model or settings.model_dir / ST_FOLDER)
    return load_model(settings.model_dir)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Load the model and the match index once per process (never at import)."""
    t0 = time.perf_counter()
    settings = app.state.settings
    to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
    index = build_index(load_embedder(settings), settings)
    index.configure_dense(settings.dense_search, settings.dense_candidates, settings.hnsw_ef_search)
    await run_in_threadpool(index.sync, app.state.engine)
    app.state.match_index = index
    if settings.gc_freeze:  # what lives for the process is never scanned again (freeze_long_lived)
        frozen = freeze_long_lived()
        log.info("%d objects frozen out of the garbage collector's scans", frozen)
    log.info("match index ready in %.1f s: %s", time.perf_counter() - t0, index.stats())
    worker = None
    if app.state.settings.worker_in_process:
        worker = Worker(app.state.engine, app.state.settings).start()
    yield
    if worker is not None:
        worker.stop()
    if settings.gc_freeze:
        gc.unfreeze()  # an app made again in this process (tests) starts from a collectable heap
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # docs_url/redoc_url None: install_docs serves both from the vendored assets (FastAPI's own load from a CDN)
    app = FastAPI(title="clinmatch", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.auth_throttle = AuthThrottle(settings.auth_failure_limit, settings.auth_failure_window_seconds)
    if settings.dense_search != "memory" and settings.is_sqlite:  # refused at start-up, not at the first request
        raise RuntimeError(f"CLINMATCH_DENSE_SEARCH={settings.dense_search} needs PostgreSQL with pgvector; "
                           "the database is SQLite: use CLINMATCH_DENSE_SEARCH=memory (the default)")
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    # SQLite: writers take turns; PostgreSQL: no more requests inside than the pool serves (app/write_queue.py)
    app.add_middleware(Admission, limit=1 if settings.is_sqlite else PG_POOL_CAPACITY // 2,
                       writes_only=settings.is_sqlite)
    # Outside the admission queue: an oversized body or a NUL in the query is refused without taking a turn
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_json_bytes,
                       max_multipart_bytes=settings.max_attachment_bytes)
    if settings.access_log:  # inside the request id, outside the queue: the duration includes waiting for a turn
        access_log.configure()
        app.add_middleware(AccessLog)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.add_middleware(SecurityMiddleware)  # outermost: sets the caller's X-Request-ID aside before the line above
    install_error_handlers(app)
    install_api(app)  # flat: FastAPI's nested routers cost more per request than a read (app/api/__init__.py)
    install_docs(app)
    install_web(app)
    index_routes(app)  # a request tries only the routes its path's literal prefix allows (app/routing.py)
    return app
