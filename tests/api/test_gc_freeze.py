"""What lives for the process is frozen out of the garbage collector's scans: after start-up, after a bulk load and
after a compaction of the match index (full collections otherwise walked every indexed document: ~180 ms pauses)."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from app.db import make_engine, session_scope
from app.migrate import upgrade
from app.models import Capability
from app.models.common import utcnow
from app.models.organisation import OrganisationCreate
from app.services import organisations
from app.services.matching.index import build_index
from matching import HashingEmbedder


@pytest.fixture(autouse=True)
def _unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def tracked_ids() -> set[int]:
    return {id(o) for o in gc.get_objects()}


def test_start_up_freezes_the_index_and_shutdown_unfreezes(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"gc_freeze": True}))
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            matcher = app.state.match_index.matcher
            assert gc.get_freeze_count() > 0
            tracked = tracked_ids()
            assert id(matcher) not in tracked and id(matcher.index.caps) not in tracked and id(app) not in tracked
        assert gc.get_freeze_count() == 0
    finally:
        app.state.engine.dispose()


def test_no_freeze_when_switched_off(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"gc_freeze": False}))
    try:
        with TestClient(app):
            assert gc.get_freeze_count() == 0
    finally:
        app.state.engine.dispose()


def _touch(engine, ids: list[int]) -> None:
    with session_scope(engine) as s:
        s.execute(update(Capability).where(Capability.id.in_(ids))
                  .values(version=Capability.version + 1, updated_at=utcnow() + timedelta(seconds=1)))


def test_bulk_load_and_compaction_freeze_the_new_store(db_url, settings):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            org = organisations.create(s, None, OrganisationCreate(kind="enterprise", name_en="Bulk", region="suzhou"))
            now = utcnow()
            ids = [r[0] for r in s.execute(insert(Capability).returning(Capability.id), [{
                "organisation_id": org.id, "kind": "product", "title": f"device {i}", "description": f"catheter model {i}",
                "tracks": ["medical_devices"], "stages": [], "certifications": [], "region": "suzhou", "language": "en",
                "status": "active", "version": 1, "created_at": now, "updated_at": now} for i in range(1100)])]
        index = build_index(HashingEmbedder(), settings.model_copy(update={"gc_freeze": True}))
        index.sync(engine)  # a bulk load (>= 1000 rows): frozen
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        _touch(engine, ids[:600])
        index.sync(engine)  # 600 rows replaced: neither bulk nor compacted
        assert gc.get_freeze_count() == 0
        store = index.matcher.index.caps
        _touch(engine, ids[600:1100])
        index.sync(engine)  # 1,100 of 2,200 rows retired: the store is compacted, the new one frozen
        assert index.matcher.index.caps is not store
        assert gc.get_freeze_count() > 0
        new = index.matcher.index.caps
        assert len(new) == 1100
        tracked = tracked_ids()
        assert id(new.docs[-1]) not in tracked and id(new.ids) not in tracked
    finally:
        engine.dispose()
