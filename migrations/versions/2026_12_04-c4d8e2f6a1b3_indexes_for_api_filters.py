"""indexes for every filter and sort the list API offers

Revision ID: c4d8e2f6a1b3
Revises: b7e3c1a9d2f4
Create Date: 2026-12-04 13:41:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4d8e2f6a1b3'
down_revision: str | None = 'b7e3c1a9d2f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# (table, index, columns): btree on both databases. The list endpoints' other filters and sorts had their indexes
# already (every created_at and updated_at; needs: status, language, hospital_id; capabilities: region, status,
# language, organisation_id; organisations: kind, region; engagements: state, need_id, hospital_id, lead_org_id;
# audit_events: entity, entity_id, user_id, at; notifications: (organisation_id, read_at);
# deliveries: (status, next_attempt_at), organisation_id, endpoint_id, notification_id; users: organisation_id, role).
BTREE = [
    ("needs", "ix_needs_opened_at", ["opened_at"]),
    ("needs", "ix_needs_title", ["title"]),
    ("capabilities", "ix_capabilities_title", ["title"]),
    ("organisations", "ix_organisations_name_zh", ["name_zh"]),
    ("organisations", "ix_organisations_name_en", ["name_en"]),
    ("audit_events", "ix_audit_events_action", ["action"]),
    ("notes", "ix_notes_entity_entity_id", ["entity", "entity_id"]),
    ("notifications", "ix_notifications_org_kind", ["organisation_id", "kind"]),
    ("deliveries", "ix_deliveries_org_channel", ["organisation_id", "channel"]),
]

# JSON list filters (app/services/listing.py json_list_contains): ``col @> '["value"]'`` on PostgreSQL's JSONB, served
# by a GIN index (jsonb_path_ops). On SQLite the filter is a LIKE over the JSON text, which no index serves: the same
# named index is an empty partial one there (WHERE 0: nothing to store or maintain), as on the models
# (app.db.json_list_index).
JSON_LISTS = [
    ("needs", "tracks"), ("needs", "partner_types"), ("needs", "stages"), ("needs", "regions"),
    ("capabilities", "tracks"), ("capabilities", "stages"), ("capabilities", "certifications"),
]


def upgrade() -> None:
    for table, name, cols in BTREE:
        op.create_index(name, table, cols, unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, col in JSON_LISTS:
        if postgres:
            op.create_index(f"ix_{table}_{col}", table, [col], unique=False, postgresql_using="gin",
                            postgresql_ops={col: "jsonb_path_ops"})
        else:
            op.create_index(f"ix_{table}_{col}", table, [col], unique=False, sqlite_where=sa.text("0"))


def downgrade() -> None:
    for table, col in reversed(JSON_LISTS):
        op.drop_index(f"ix_{table}_{col}", table_name=table)
    for table, name, _ in reversed(BTREE):
        op.drop_index(name, table_name=table)
