import pytest

from tests.strategies._data import make_bars, make_pair


@pytest.fixture(scope="session")
def bars():
    """600 seeded daily bars."""
    return make_bars(600, seed=11)


@pytest.fixture(scope="session")
def pair():
    """A seeded cointegrated pair (dict of two symbols, 600 bars)."""
    return make_pair(600, seed=5)
