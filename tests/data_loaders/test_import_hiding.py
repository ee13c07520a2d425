"""Heavy libraries imported without the optional packages they load only for annotations
(:func:`data_loaders._optional.import_hiding`): hidden during the import, normal afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from data_loaders._optional import import_hiding


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


def test_vectorbt_and_arch_import_without_their_optional_packages() -> None:
    """vectorbt without ccxt (backtest._vectorbt), arch's SPA without matplotlib
    (research.overfitting.spa, checked by running the test); both import normally after."""
    pytest.importorskip("ccxt")
    code = """
        import sys
        import numpy as np
        from research.overfitting.spa import spa_test
        res = spa_test(np.random.default_rng(0).normal(0.001, 0.01, (60, 3)), reps=50)
        print("matplotlib" in sys.modules, 0 <= res.consistent <= 1)
        from backtest._vectorbt import import_vectorbt
        vbt = import_vectorbt()
        print("ccxt" in sys.modules, vbt is sys.modules["vectorbt"], hasattr(vbt, "Portfolio"))
        import ccxt, matplotlib
        print(isinstance(ccxt.Exchange, type), bool(matplotlib.__version__))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "False", "True", "True", "True", "True"]
