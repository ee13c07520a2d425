"""Fake ccxt exchanges for the offline source tests: subclasses of the real exchange classes
that answer from recordings, note every request and raise queued errors first."""

from __future__ import annotations

from typing import Any


class Recording:
    """Mixin of a fake exchange: ``requests`` answered, ``errors`` to raise before answering."""

    requests: list[tuple] = []
    errors: list[BaseException] = []

    def note(self, *request: Any) -> None:
        """Record ``request``; raise the first queued error, if any."""
        type(self).requests.append(request)
        if type(self).errors:
            raise type(self).errors.pop(0)


def install(monkeypatch: Any, ccxt: Any, name: str, fake: type) -> type:
    """Put ``fake`` in place of ``ccxt.<name>`` for the test, with no requests or errors yet."""
    fake.requests, fake.errors = [], []
    monkeypatch.setattr(ccxt, name, fake)
    return fake
