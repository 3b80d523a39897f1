"""engagements, milestones, documents, events

Revision ID: 89959d431c1f
Revises: f01468b279a5
Create Date: 2026-11-24 05:31:19.733922
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '89959d431c1f'
down_revision: str | None = 'f01468b279a5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('domain_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('organisation_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_domain_events_type'), ['type'], unique=False)

    op.create_table('engagements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('lead_org_id', sa.Integer(), nullable=False),
    sa.Column('capability_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_org_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('held_from', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('hospital_accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('hospital_accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('lead_accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('lead_accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['capability_id'], ['capabilities.id'], name=op.f('fk_engagements_capability_id_capabilities')),
    sa.ForeignKeyConstraint(['hospital_accepted_by_id'], ['users.id'], name=op.f('fk_engagements_hospital_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['hospital_id'], ['organisations.id'], name=op.f('fk_engagements_hospital_id_organisations')),
    sa.ForeignKeyConstraint(['lead_accepted_by_id'], ['users.id'], name=op.f('fk_engagements_lead_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['lead_org_id'], ['organisations.id'], name=op.f('fk_engagements_lead_org_id_organisations')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_engagements_need_id_needs')),
    sa.ForeignKeyConstraint(['proposed_by_org_id'], ['organisations.id'], name=op.f('fk_engagements_proposed_by_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagements'))
    )
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagements_capability_id'), ['capability_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_hospital_id'), ['hospital_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_lead_org_id'), ['lead_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_updated_at'), ['updated_at'], unique=False)

    op.create_table('engagement_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_engagement_participants_added_by_id_users')),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_participants_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_engagement_participants_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_participants')),
    sa.UniqueConstraint('engagement_id', 'organisation_id', 'role', name='uq_engagement_participants_org_role')
    )
    with op.batch_alter_table('engagement_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_participants_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_participants_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_participants_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('engagement_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_transitions_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_engagement_transitions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_engagement_transitions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_transitions')),
    sa.UniqueConstraint('engagement_id', 'seq', name='uq_engagement_transitions_seq')
    )
    with op.batch_alter_table('engagement_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_transitions_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_transitions_engagement_id'), ['engagement_id'], unique=False)

    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('responsible_org_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_org_id', sa.Integer(), nullable=False),
    sa.Column('engagement_state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_milestones_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_milestones_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_org_id'], ['organisations.id'], name=op.f('fk_milestones_recorded_by_org_id_organisations')),
    sa.ForeignKeyConstraint(['responsible_org_id'], ['organisations.id'], name=op.f('fk_milestones_responsible_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones'))
    )
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestones_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestones_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestones_kind'), ['kind'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_documents_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_documents_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_documents_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_milestone_id'), ['milestone_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_milestone_id'))
        batch_op.drop_index(batch_op.f('ix_documents_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_documents_created_at'))

    op.drop_table('documents')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestones_kind'))
        batch_op.drop_index(batch_op.f('ix_milestones_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_milestones_created_at'))

    op.drop_table('milestones')
    with op.batch_alter_table('engagement_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_transitions_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_engagement_transitions_at'))

    op.drop_table('engagement_transitions')
    with op.batch_alter_table('engagement_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_participants_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_engagement_participants_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_engagement_participants_created_at'))

    op.drop_table('engagement_participants')
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagements_updated_at'))
        batch_op.drop_index(batch_op.f('ix_engagements_state'))
        batch_op.drop_index(batch_op.f('ix_engagements_need_id'))
        batch_op.drop_index(batch_op.f('ix_engagements_lead_org_id'))
        batch_op.drop_index(batch_op.f('ix_engagements_hospital_id'))
        batch_op.drop_index(batch_op.f('ix_engagements_created_at'))
        batch_op.drop_index(batch_op.f('ix_engagements_capability_id'))

    op.drop_table('engagements')
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_events_type'))
        batch_op.drop_index(batch_op.f('ix_domain_events_created_at'))

    op.drop_table('domain_events')
