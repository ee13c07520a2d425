"""The reference engine's vectorbt import (:mod:`backtest._vectorbt`): the optional exchange
clients are hidden while vectorbt imports, and import normally afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from backtest._vectorbt import import_hiding


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """``qr_fake_client`` (a package) and ``qr_fake_lib``, which records whether it could
    import the client."""
    (tmp_path / "qr_fake_client").mkdir()
    (tmp_path / "qr_fake_client" / "__init__.py").write_text("NAME = 'client'\n")
    (tmp_path / "qr_fake_lib.py").write_text(
        "try:\n    from qr_fake_client import NAME\nexcept ImportError:\n    NAME = None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("qr_fake_client", "qr_fake_lib"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_the_hidden_package_is_absent_for_the_import_and_imports_after(fake_packages) -> None:
    lib = import_hiding("qr_fake_lib", ("qr_fake_client",))
    assert lib.NAME is None
    assert "qr_fake_client" not in sys.modules
    assert import_hiding("qr_fake_lib", ("qr_fake_client",)) is lib  # imported once
    import qr_fake_client

    assert qr_fake_client.NAME == "client"


def test_an_already_imported_package_is_left_in_place(fake_packages) -> None:
    import qr_fake_client

    lib = import_hiding("qr_fake_lib", ("qr_fake_client",))
    assert lib.NAME == "client"
    assert sys.modules["qr_fake_client"] is qr_fake_client


def test_vectorbt_imports_without_ccxt_which_still_imports_after() -> None:
    pytest.importorskip("ccxt")
    code = """
        import sys
        from backtest._vectorbt import import_vectorbt
        vbt = import_vectorbt()
        print("ccxt" in sys.modules, vbt is sys.modules["vectorbt"], hasattr(vbt, "Portfolio"))
        import ccxt
        print(isinstance(ccxt.Exchange, type))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "True"]
