"""conversations (threads, messages) and contact persons of needs and organisations

Revision ID: a9c8e7d6b5f4
Revises: a3c5e7f9b1d2
Create Date: 2026-12-06 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'a9c8e7d6b5f4'
down_revision: str | None = 'a3c5e7f9b1d2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'threads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.Column('company_org_id', sa.Integer(), nullable=True),
        sa.Column('engagement_id', sa.Integer(), nullable=True),
        sa.Column('message_count', sa.Integer(), nullable=False),
        sa.Column('created_at', _T(), nullable=False),
        sa.Column('updated_at', _T(), nullable=False),
        sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_threads_need_id_needs')),
        sa.ForeignKeyConstraint(['company_org_id'], ['organisations.id'],
                                name=op.f('fk_threads_company_org_id_organisations')),
        sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_threads_engagement_id_engagements')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_threads')),
        sa.UniqueConstraint('need_id', 'company_org_id', name='uq_threads_need_company'),
        sa.UniqueConstraint('engagement_id', name='uq_threads_engagement'),
    )
    for col in ('need_id', 'company_org_id', 'created_at', 'updated_at'):
        op.create_index(op.f(f'ix_threads_{col}'), 'threads', [col], unique=False)
    op.create_table(
        'messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('side', _S(length=16), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('filename', _S(length=255), nullable=True),
        sa.Column('content_type', _S(length=100), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('sha256', _S(length=64), nullable=True),
        sa.Column('created_at', _T(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_messages_thread_id_threads')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_messages_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_messages_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    )
    op.create_index('ix_messages_thread_id_id', 'messages', ['thread_id', 'id'], unique=False)
    op.create_index(op.f('ix_messages_created_at'), 'messages', ['created_at'], unique=False)
    with op.batch_alter_table('needs') as batch_op:
        batch_op.add_column(sa.Column('contact_name', _S(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_email', _S(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', _S(length=40), nullable=True))
    with op.batch_alter_table('organisations') as batch_op:
        batch_op.add_column(sa.Column('contact_name', _S(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch_op:
        batch_op.drop_column('contact_name')
    with op.batch_alter_table('needs') as batch_op:
        for col in ('contact_phone', 'contact_email', 'contact_name'):
            batch_op.drop_column(col)
    op.drop_index(op.f('ix_messages_created_at'), table_name='messages')
    op.drop_index('ix_messages_thread_id_id', table_name='messages')
    op.drop_table('messages')
    for col in ('created_at', 'updated_at', 'company_org_id', 'need_id'):
        op.drop_index(op.f(f'ix_threads_{col}'), table_name='threads')
    op.drop_table('threads')
