"""Idempotency keys of the service's writes; scoring failures kept on the queue.

``ch_idempotency`` holds each write's ``Idempotency-Key`` with the answer it got,
written in the write's own transaction. ``ch_pending`` gains ``attempts``,
``last_error`` and ``failed_at``: a customer whose scoring failed stays queued, with a
later ``since`` (its backoff), until it is scored.

Revision ID: d85f2b1c9e63
Revises: b6f1c0d2a9e4
Create Date: 2026-12-04 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "d85f2b1c9e63"
down_revision: str | Sequence[str] | None = "b6f1c0d2a9e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade() -> None:
    """Create ``ch_idempotency``; add the failure columns to ``ch_pending``."""
    op.create_table(
        "ch_idempotency",
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("key", _ID, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "route", "key", name="pk_ch_idempotency"),
        comment="customer-health: idempotency keys of writes, with their answers",
    )
    op.create_index("ix_ch_idempotency_created_at", "ch_idempotency", ["created_at"])
    with op.batch_alter_table("ch_pending") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop ``ch_idempotency`` and the failure columns of ``ch_pending``."""
    with op.batch_alter_table("ch_pending") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("last_error")
        batch.drop_column("attempts")
    op.drop_table("ch_idempotency")
