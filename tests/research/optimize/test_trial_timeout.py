"""``trial_timeout``: a trial that never returns is stopped and recorded as failed; the search goes
on, and every other trial equals the one of a search without hanging trials."""

from __future__ import annotations

import time

import numpy as np
import pytest

from strategies import Int, Strategy


class Momentum(Strategy):
    """Long when the close is above its close ``n`` bars ago (plain, fast)."""

    name = "momentum_t"
    n = Int(2, 30, default=10)

    def positions(self, bars, features=None):
        close = bars["close"]
        pos = (close > close.shift(self.n)).astype(float)
        pos.iloc[: self.n] = 0.0
        return pos


class Hanging(Momentum):
    """The same positions, but ``n > 24`` never returns (sleeps far past any timeout)."""

    name = "hanging_t"

    def positions(self, bars, features=None):
        if self.n > 24:
            time.sleep(600)
        return super().positions(bars, features)


@pytest.mark.parametrize("workers", [1, 2])
def test_hanging_trials_fail_with_the_reason_and_the_search_goes_on(wfo, tmp_path, workers):
    kw = dict(optimizer="random", n_trials=10, batch_size=5, seed=3)
    reference = wfo(Momentum, run_dir=tmp_path / "ref", **kw)
    t0 = time.monotonic()
    res = wfo(Hanging, run_dir=tmp_path / "hang", workers=workers, trial_timeout=1.0, **kw)
    assert time.monotonic() - t0 < 120  # the sleeps (600 s each) were cut short
    trials, ref = res.trials, reference.trials
    assert len(trials) == len(ref) == 20  # 2 folds x 10: every trial recorded
    ns = np.array([p["n"] for p in trials["params"]])
    assert ns.tolist() == [p["n"] for p in ref["params"]]  # same candidates asked
    hung = ns > 24
    assert hung.any() and (~hung).any()
    assert (trials.loc[hung, "state"] == "fail").all()
    assert trials.loc[hung, "reason"].str.startswith("timeout: ").all()
    assert trials.loc[hung, "reason"].str.contains("budget.trial_timeout = 1 s").all()
    cols = ["state", "feasible", "value"]
    assert trials.loc[~hung, cols].equals(ref.loc[~hung, cols])


def test_trial_timeout_must_be_positive(wfo, tmp_path):
    from data_loaders.errors import ParameterError

    with pytest.raises(ParameterError, match="`trial_timeout` must be a number of seconds > 0"):
        wfo(Momentum, run_dir=tmp_path / "x", trial_timeout=0, n_trials=2)
