"""The storage suite needs the sqlalchemy extra; its fixtures are in ``tests/backends.py``."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlalchemy", reason="the storage tests need the sqlalchemy extra")
