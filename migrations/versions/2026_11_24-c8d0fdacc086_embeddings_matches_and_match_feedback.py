"""embeddings, matches and match feedback

Revision ID: c8d0fdacc086
Revises: a5ec5e815ee0
Create Date: 2026-11-24 05:17:51.143065
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'c8d0fdacc086'
down_revision: str | None = 'a5ec5e815ee0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('embeddings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('model_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('model_version', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('text_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embeddings')),
    sa.UniqueConstraint('entity', 'entity_id', 'model_name', name='uq_embeddings_entity_model')
    )
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_embeddings_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_embeddings_entity_id'), ['entity_id'], unique=False)

    op.create_table('match_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('capability_id', sa.Integer(), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('score_at_feedback', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['capability_id'], ['capabilities.id'], name=op.f('fk_match_feedback_capability_id_capabilities')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_match_feedback_need_id_needs')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_match_feedback_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_match_feedback_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_feedback')),
    sa.UniqueConstraint('need_id', 'capability_id', 'party', name='uq_match_feedback_pair_party')
    )
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_feedback_capability_id'), ['capability_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_feedback_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_feedback_updated_at'), ['updated_at'], unique=False)

    op.create_table('matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('capability_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('model_version', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['capability_id'], ['capabilities.id'], name=op.f('fk_matches_capability_id_capabilities')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_matches_need_id_needs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches')),
    sa.UniqueConstraint('need_id', 'capability_id', name='uq_matches_need_capability')
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matches_capability_id'), ['capability_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_score'), ['score'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capabilities_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_updated_at'), ['updated_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_updated_at'))

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_updated_at'))

    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capabilities_updated_at'))

    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matches_updated_at'))
        batch_op.drop_index(batch_op.f('ix_matches_score'))
        batch_op.drop_index(batch_op.f('ix_matches_need_id'))
        batch_op.drop_index(batch_op.f('ix_matches_created_at'))
        batch_op.drop_index(batch_op.f('ix_matches_capability_id'))

    op.drop_table('matches')
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_feedback_updated_at'))
        batch_op.drop_index(batch_op.f('ix_match_feedback_need_id'))
        batch_op.drop_index(batch_op.f('ix_match_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_match_feedback_capability_id'))

    op.drop_table('match_feedback')
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embeddings_entity_id'))
        batch_op.drop_index(batch_op.f('ix_embeddings_created_at'))

    op.drop_table('embeddings')

