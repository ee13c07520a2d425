"""Fixtures of the exploration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas() -> Iterator[None]:
    """The tests call statsmodels directly on small matrices; multi-threaded OpenBLAS on a busy
    2-core machine turns a 0.1 s Engle-Granger test into 10+ s of spinning threads (the library
    code limits itself the same way, see ``statistical.single_threaded_blas``)."""
    from research.explore.statistical import single_threaded_blas

    with single_threaded_blas():
        yield
