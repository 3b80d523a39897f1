"""The migrations are the only way the schema is made; they must match the models and go down cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.migrate import alembic_config
from app.models.embedding import include_object


def test_models_and_migrations_do_not_drift(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True,
                                                     "include_object": include_object})  # PG-only embeddings.vec
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_constraint_names_follow_the_convention(db_url):
    engine = create_engine(db_url)
    insp = inspect(engine)
    for table in ("needs", "capabilities", "users", "api_tokens"):
        for fk in insp.get_foreign_keys(table):
            assert fk["name"].startswith(f"fk_{table}_"), fk
        assert insp.get_pk_constraint(table)["name"] in (f"pk_{table}", None)  # SQLite does not name PKs
    engine.dispose()


def test_downgrade_to_base_and_up_again(db_url):
    from alembic import command

    cfg = alembic_config(db_url)
    command.downgrade(cfg, "base")
    engine = create_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(cfg, "head")
    engine = create_engine(db_url)
    assert {"needs", "capabilities", "audit_events"} <= set(inspect(engine).get_table_names())
    engine.dispose()
