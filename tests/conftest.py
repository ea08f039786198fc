"""Shared fixtures: the path of the real datasets (../shared/data beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark datasets not found at {DATA}")
    return DATA
