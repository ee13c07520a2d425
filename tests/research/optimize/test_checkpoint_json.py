"""DEAP checkpoints are JSON: no pickle in a run folder, none ever loaded, resumes stay exact."""

from __future__ import annotations

import json
import os
import pickle
import random

import pytest

from research.optimize._checkpoint import load_checkpoint, save_checkpoint
from research.optimize._deap import rng_state_from_json, rng_state_to_json
from tests.research.optimize._strategies import Interrupting

COLS = ["fold", "number", "state", "feasible", "value", "step"]


class _Planted:
    """Unpickling this writes a marker file: proof that a checkpoint was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _interrupt_once(wfo, run_dir, **kw):
    Interrupting.budget, Interrupting.calls = 4, 0
    with pytest.raises(KeyboardInterrupt):
        wfo(Interrupting, run_dir=run_dir, **kw)
    Interrupting.budget = None


def _same(a, b) -> None:
    assert a.trials[COLS].equals(b.trials[COLS])
    assert a.trials["params"].tolist() == b.trials["params"].tolist()
    assert [f.best_params for f in a.folds] == [f.best_params for f in b.folds]


@pytest.mark.parametrize("name", ["ga", "deap_nsga2"])
def test_checkpoints_are_json_and_resume_exactly(wfo, tmp_path, name):
    objective = ["sharpe_ratio", "max_drawdown"] if "nsga2" in name else "sharpe_ratio"
    kw = dict(optimizer=name, optimizer_options={"population_size": 8}, batch_size=8)
    kw.update(n_trials=16, objective=objective, guardrails={"min_trades": 2})
    Interrupting.budget, Interrupting.calls = None, 0
    reference = wfo(Interrupting, run_dir=tmp_path / "ref", **kw)

    run_dir = tmp_path / "resumed"
    _interrupt_once(wfo, run_dir, **kw)
    files = sorted((run_dir / "checkpoints").iterdir())
    assert files and all(f.suffix == ".json" for f in files)
    for f in files:
        state = json.loads(f.read_text())  # plain JSON, not a pickle
        assert state["optimizer"] == name and len(state["rng_state"]["words"]) == 625
        assert not f.read_bytes().startswith(b"\x80")  # no pickle protocol header
    resumed = wfo(Interrupting, run_dir=run_dir, **kw)
    _same(resumed, reference)
    assert not [p for p in run_dir.rglob("*") if p.suffix in (".pkl", ".pickle")]


def test_a_pickle_in_place_of_a_checkpoint_is_never_loaded(wfo, tmp_path):
    kw = dict(optimizer="ga", optimizer_options={"population_size": 8}, batch_size=8)
    kw.update(n_trials=16, guardrails={"min_trades": 2})
    Interrupting.budget, Interrupting.calls = None, 0
    reference = wfo(Interrupting, run_dir=tmp_path / "ref", **kw)
    run_dir = tmp_path / "resumed"
    _interrupt_once(wfo, run_dir, **kw)
    marker = tmp_path / "UNPICKLED"
    for f in (run_dir / "checkpoints").iterdir():
        f.write_bytes(pickle.dumps(_Planted(str(marker))))  # someone else's "checkpoint"
    resumed = wfo(Interrupting, run_dir=run_dir, **kw)
    assert not marker.exists()
    _same(resumed, reference)  # replayed from the recorded trials instead: same result


def test_damaged_checkpoints_read_as_none(tmp_path):
    path = tmp_path / "c.json"
    for content in (b"", b"{", b"\xff\xfe", b"[1, 2]", pickle.dumps({"version": 2})):
        path.write_bytes(content)
        assert load_checkpoint(path) is None
    assert load_checkpoint(tmp_path / "missing.json") is None
    save_checkpoint(path, {"x": [1.5, float("inf")], "n": 3})
    assert load_checkpoint(path) == {"x": [1.5, float("inf")], "n": 3}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_rng_state_round_trips_through_json():
    rng = random.Random(7)
    rng.random()
    rng.gauss(0, 1)  # sets gauss_next
    state = rng.getstate()
    back = rng_state_from_json(json.loads(json.dumps(rng_state_to_json(state))))
    assert back == state
    other = random.Random()
    other.setstate(back)
    assert [other.random() for _ in range(5)] == [rng.random() for _ in range(5)]
    with pytest.raises(ValueError):
        rng_state_from_json({"version": 3, "words": [1, 2, 3], "gauss_next": None})
