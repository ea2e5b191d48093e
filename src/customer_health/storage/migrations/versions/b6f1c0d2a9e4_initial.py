"""The store's tables: customers, events, scores, latest scores, pending rescoring.

Instants are BigInteger microseconds since the epoch (the store's ``Instant``), JSON
is canonical Text (its ``CanonicalJSON``): plain types here, so that this revision
never depends on the package's Python types as they change.

Revision ID: b6f1c0d2a9e4
Revises:
Create Date: 2026-11-25 15:58:01.979602
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "b6f1c0d2a9e4"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("customer_health",)
depends_on: str | Sequence[str] | None = None

_ID = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def _serial() -> sa.types.TypeEngine[int]:
    """An autoincrementing key: BIGINT, INTEGER on SQLite (its rowid alias)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the ``ch_`` tables and their indexes."""
    op.create_table(
        "ch_customers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("segment", _ID, nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ch_customers"),
        comment="customer-health: customers",
    )
    op.create_index("ix_ch_customers_name", "ch_customers", ["name"])
    op.create_index("ix_ch_customers_segment", "ch_customers", ["segment"])

    op.create_table(
        "ch_events",
        sa.Column("seq", _serial(), nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=True),
        sa.Column("kind", _ID, nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("feature", sa.String(length=1000), nullable=True),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("properties", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ch_events"),
        comment="customer-health: usage events",
    )
    op.create_index(
        "uq_ch_events_customer_event", "ch_events", ["customer_id", "event_id"], unique=True
    )

    op.create_table(
        "ch_scores",
        sa.Column("id", _serial(), nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ch_scores"),
        comment="customer-health: every score computed, with its factor breakdown",
    )
    op.create_index("ix_ch_scores_customer_as_of", "ch_scores", ["customer_id", "as_of"])

    op.create_table(
        "ch_latest",
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("score_id", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_ch_latest"),
        comment="customer-health: each customer's score with the latest as_of",
    )

    op.create_table(
        "ch_pending",
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ch_customers.id"],
            name="fk_ch_pending_customer_id_ch_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_ch_pending"),
        comment="customer-health: customers due for rescoring (new events, stale scores)",
    )
    op.create_index("ix_ch_pending_since", "ch_pending", ["since"])


def downgrade() -> None:
    """Drop the ``ch_`` tables (their indexes go with them), referencing ones first."""
    for table in ("ch_pending", "ch_latest", "ch_scores", "ch_events", "ch_customers"):
        op.drop_table(table)
