import pytest

import sessile


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "sessions.db")


@pytest.fixture
def engine(db_path):
    """An engine on a fresh directory with a manual clock: expiry without sleeping."""
    with sessile.open(db_path, manual_clock=True, reaper_interval_ms=0) as engine:
        yield engine
