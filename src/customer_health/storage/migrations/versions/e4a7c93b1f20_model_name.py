"""The model's name on every stored score.

``ch_scores`` gains ``model_name`` (the scorer's ``model_name``, a model file's
``[model] name``); scores stored before it were all of the library's model,
``customer-health``, which the column's default gives them.

Revision ID: e4a7c93b1f20
Revises: d85f2b1c9e63
Create Date: 2026-12-05 14:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e4a7c93b1f20"
down_revision: str | Sequence[str] | None = "d85f2b1c9e63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``ch_scores.model_name`` (``customer-health`` for the scores there)."""
    with op.batch_alter_table("ch_scores") as batch:
        batch.add_column(
            sa.Column(
                "model_name", sa.String(length=64), server_default="customer-health", nullable=False
            )
        )


def downgrade() -> None:
    """Drop ``ch_scores.model_name``."""
    with op.batch_alter_table("ch_scores") as batch:
        batch.drop_column("model_name")
