"""Nightly hand-off: the data store updated incrementally, targets.json / targets.csv equal to an
independent recomputation, the notify command's summary, a failing notify reported without
losing the decision.

Two nights on a data store folder whose "online" source is the bundled S&P 500 sample served by
a fake fetch (the network layer of ``data_loaders.store``): the store holds bars to the end of
2016; the fake source has bars to 2017-03-31 for the first night and to 2017-06-30 for the
second.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import data_loaders.store as store_mod
from data_loaders import load_bars
from data_loaders.store import StoreSpec, download_store, read_manifest
from research.cli import EXIT_FOLLOW_UP_FAILED, main
from research.run.champion import read_champion, read_history
from research.run.nightly import run_nightly
from research.spec import parse_experiment
from tests.research import _runs
from tests.research.run.test_nightly import RAW as NIGHTLY

SAMPLE = load_bars("sample:sp500")
SYMBOL = "SP500"
NOTIFY_SCRIPT = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.stdin.read())"


class FakeSource:
    """``fetch(spec, symbol, start, end)`` serving the sample's bars in ``[start, end)`` up to
    ``latest`` (the newest bar the "exchange" has); every call is recorded."""

    def __init__(self, latest: str):
        self.latest = pd.Timestamp(latest, tz="UTC")
        self.calls: list[tuple[pd.Timestamp | None, pd.Timestamp | None]] = []

    def __call__(self, spec, symbol, start, end):
        self.calls.append((start, end))
        bars = SAMPLE.loc[:, ["open", "high", "low", "close", "volume"]]
        keep = bars.index <= self.latest
        if start is not None:
            keep &= bars.index >= start
        if end is not None:
            keep &= bars.index < end
        return bars[keep].copy()


def _raw(store: Path, notify: str) -> dict:
    return _runs.spec(
        name="handoff",
        strategies=["sma_cross"],
        optimizers=["tpe"],
        data={"source": str(store), "start": "2012-01-01"},
        gates=NIGHTLY["gates"],  # every gate a short sample can pass
        guardrails=NIGHTLY["guardrails"],
        nightly={"n_trials": 4, "window": 250, "warm_start": 2, "notify": notify},
    )


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("handoff")
    store, root = base / "store", base / "runs"
    spec = StoreSpec(source="yfinance", symbols=(SYMBOL,), timeframe="1d", adjust=False)
    download_store(spec, store, end="2017-01-01", fetch=FakeSource("2016-12-31"))
    stored_before = pd.read_parquet(store / f"{SYMBOL}.parquet")
    got = base / "notified.json"
    ok_cmd = f"{sys.executable} -c '{NOTIFY_SCRIPT}' {got}"
    first_source = FakeSource("2017-03-31")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_mod, "fetch_bars", first_source)
        first = run_nightly(parse_experiment(_raw(store, ok_cmd)), runs_root=root)
    after_first = {
        name: (root / "handoff" / name).read_text()
        for name in ("champion.json", "targets.json", "targets.csv")
    }
    bad_cmd = "cat > /dev/null; echo 'mail: no route to host' >&2; exit 7"
    spec_file = _runs.write_spec(_raw(store, bad_cmd), base)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_mod, "fetch_bars", FakeSource("2017-06-30"))
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            status = main(["nightly", str(spec_file), "--runs-root", str(root), "--json"])
    return {
        "store": store,
        "root": root,
        "stored_before": stored_before,
        "first": first,
        "first_source": first_source,
        "after_first": after_first,
        "notified": got,
        "status": status,
        "stderr": err.getvalue(),
    }


def test_the_night_updates_the_store_incrementally(nights):
    before, first = nights["stored_before"], nights["first"]
    # one fetch, from the overlap (the 3 last stored bars) on: not the whole history again
    ((start, _end),) = nights["first_source"].calls
    assert start == before.index[-3]
    new = SAMPLE.loc["2017-01-01":"2017-03-31"]
    (u,) = first.handoff["data_update"]["updates"]
    assert u["status"] == "appended" and u["new_bars"] == len(new) > 50
    # the night traded on the updated bars: its window ends at the newest bar
    assert first.window["end"] == str(new.index[-1])
    _, files = read_manifest(nights["store"])
    assert files[SYMBOL]["last"] == str(SAMPLE.loc[:"2017-06-30"].index[-1])  # after night 2


def _independent_target(store: Path, params: dict, end: str) -> tuple[float, pd.Timestamp]:
    """Load the stored bars, cut as the spec does, run the strategy's positions, take the last."""
    from strategies.registry import get_strategy

    bars = pd.read_parquet(store / f"{SYMBOL}.parquet").loc["2012-01-01":end]
    pos = get_strategy("sma_cross")(**params).positions(bars)
    return float(pos.iloc[-1]), bars.index[-1]


def test_targets_equal_an_independent_recomputation(nights):
    first = nights["first"]
    champion = json.loads(nights["after_first"]["champion.json"])
    doc = json.loads(nights["after_first"]["targets.json"])
    expected, last = _independent_target(nights["store"], champion["params"], "2017-03-31")
    (row,) = doc["targets"]
    assert row["symbol"] == SYMBOL
    assert row["target"] == pytest.approx(expected, abs=1e-12)
    assert row["params"] == champion["params"] == doc["params"]
    assert row["data_timestamp"] == doc["data_timestamp"] == last.isoformat()
    cid = f"{Path(champion['run_dir']).name}:{champion['candidate']}"
    assert row["champion_id"] == doc["champion_id"] == cid
    assert doc["refit"] is False and doc["fit_window"] is None  # sma_cross learns nothing
    assert doc["time"] == first.time and doc["experiment"] == "handoff"
    (line,) = list(csv.DictReader(nights["after_first"]["targets.csv"].splitlines()))
    assert line["symbol"] == SYMBOL and float(line["target"]) == pytest.approx(expected)
    assert line["data_timestamp"] == last.isoformat() and line["champion_id"] == cid
    assert json.loads(line["params"]) == champion["params"]
    # the second night re-computed them on its newer bars, for the champion it kept or promoted
    now = read_champion(nights["root"], "handoff")
    doc2 = json.loads((nights["root"] / "handoff" / "targets.json").read_text())
    expected2, last2 = _independent_target(nights["store"], now["params"], "2017-06-30")
    assert doc2["targets"][0]["target"] == pytest.approx(expected2, abs=1e-12)
    assert doc2["data_timestamp"] == last2.isoformat() > doc["data_timestamp"]


def test_the_notify_command_gets_the_summary(nights):
    first = nights["first"]
    assert first.notify == {
        "command": first.notify["command"],
        "ok": True,
        "status": 0,
        "message": "notified",
    }
    summary = json.loads(nights["notified"].read_text())  # the script wrote its stdin there
    history = read_history(nights["root"], "handoff")
    assert summary["decision"] == first.decision == history[0]["decision"]
    assert summary["time"] == first.time and summary["reasons"] == first.reasons
    champion = json.loads(nights["after_first"]["champion.json"])
    assert summary["champion"]["params"] == champion["params"]
    assert (
        summary["champion"]["id"]
        == json.loads(nights["after_first"]["targets.json"])["champion_id"]
    )
    assert summary["gates"] == {"passed": True, "failed": []}
    assert summary["metrics"]["challenger"] == first.challenger["window_metrics"]
    assert summary["targets"] == json.loads(nights["after_first"]["targets.json"])["targets"]
    paths = summary["paths"]
    assert paths["run_dir"] == first.run_dir and Path(paths["report"]).is_file()
    for key in ("champion", "history", "targets_json", "targets_csv"):
        assert Path(paths[key]).is_file(), key


def test_a_failing_notify_is_reported_and_the_decision_kept(nights):
    # (the second night ran in the fixture through the command line)
    assert nights["status"] == EXIT_FOLLOW_UP_FAILED == 3
    assert nights["stderr"].splitlines() == [
        "research nightly: notify command exited with status 7: mail: no route to host "
        "(cat > /dev/null; echo 'mail: no route to host' >&2; exit 7)"
    ]
    history = read_history(nights["root"], "handoff")
    assert len(history) == 2  # the second decision was recorded before the notify ran
    second = history[1]
    assert second["decision"] in ("promoted", "kept") and second["reasons"]
    assert second["handoff"]["refit"] is False
    assert second["handoff"]["targets"]["data_timestamp"] == str(
        SAMPLE.loc[:"2017-06-30"].index[-1].isoformat()
    )
    champion = read_champion(nights["root"], "handoff")
    if second["decision"] == "kept":
        assert champion == json.loads(nights["after_first"]["champion.json"])
    else:
        assert champion["params"] == second["challenger"]["params"]


@pytest.mark.parametrize("refit", [False, True])
def test_refit_chooses_the_fit_window_of_a_learning_strategy(refit):
    """``nightly.refit: false`` fits on the training window before the judging window (what the
    decision judged); ``true`` on the training window ending at the newest bar."""
    from research.run.handoff import compute_targets
    from strategies.builtin.lgbm_direction import LgbmDirection

    raw = _runs.spec(name="refit", strategies=["lgbm_direction"], optimizers=["tpe"])
    exp = parse_experiment(raw)  # walk_forward.train: 500 bars
    bars = SAMPLE.loc["2012-01-01":"2016-12-31"]
    params = {"n_estimators": 12, "num_leaves": 7, "threshold": 0.5, "allow_short": True}
    champion = {
        "strategy_ref": "lgbm_direction",
        "candidate": "lgbm_direction/tpe",
        "params": params,
        "run_dir": "/runs/refit/20261201-023000-nightly",
    }
    n, start = len(bars), len(bars) - 250
    got = compute_targets(exp, champion, bars, window_start=start, refit=refit)
    a, b = (n - 500, n) if refit else (start - 500, start)
    model = LgbmDirection(**params).fit(bars.iloc[a:b])
    expected = float(model.positions(bars).iloc[-1])
    assert got.targets == {SYMBOL: expected}
    assert got.fit_window == (bars.index[a].isoformat(), bars.index[b - 1].isoformat())
    assert got.refit is refit and got.champion_id == "20261201-023000-nightly:lgbm_direction/tpe"
    assert got.data_timestamp == bars.index[-1].isoformat()


def test_targets_that_cannot_be_computed_are_reported_not_raised(tmp_path):
    """A champion whose strategy fails on the newest bars: one line in ``error``, no files."""
    from research.run.handoff import hand_off

    exp = parse_experiment(_runs.spec(name="broken", strategies=["sma_cross"]))
    folder = tmp_path / "broken"
    folder.mkdir()
    champion = {"strategy_ref": "sma_cross", "candidate": "sma_cross/tpe", "params": {"fast": 5}}
    champion["params"]["nonsense"] = 1  # an unknown parameter: the strategy refuses it
    (folder / "champion.json").write_text(json.dumps(champion))
    bars = SAMPLE.loc["2015-01-01":"2016-12-31"]
    out = hand_off(exp, tmp_path, bars, window_start=len(bars) - 100, time="t")
    assert out["error"].startswith("targets of sma_cross/tpe failed: ")
    assert "nonsense" in out["error"] and "\n" not in out["error"]
    assert sorted(p.name for p in folder.iterdir()) == ["champion.json"]
    assert out["refit"] is False and out["champion"]["params"] == champion["params"]
