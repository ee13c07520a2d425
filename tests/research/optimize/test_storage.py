"""Every trial of every fold is stored in Optuna's RDB (SQLite under the run folder, PostgreSQL);
warm starts; best_params of a previous study."""

from __future__ import annotations

import os
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from data_loaders import fingerprint
from data_loaders.errors import ConfigError, ParameterError
from research._version import code_version_text
from research.optimize import best_params
from research.optimize.storage import data_fingerprint, open_storage, safe_url, study_trials

POSTGRES_URL = os.environ.get(
    "RESEARCH_TEST_POSTGRES_URL", "postgresql://postgres:postgres@localhost:5432/research_test"
)


def _check_stored(res, bars, n_trials: int, url: str) -> None:
    """Every trial of every fold is in the storage: params, values and state as Optuna trials
    (``optuna.load_study``), metrics and bookkeeping in the batch records (``study_trials``);
    the run's seed, the fold, the data fingerprint and the code version are the study's."""
    fp = fingerprint(bars)
    assert res.config["data_fingerprint"] == fp == data_fingerprint(bars)
    for k, name in enumerate(res.study_names):
        study = optuna.load_study(study_name=name, storage=open_storage(url))
        stored = {t.number: t for t in study.get_trials(deepcopy=False)}
        assert sorted(stored) == list(range(n_trials))
        assert study.user_attrs["config_hash"] == res.config["config_hash"]
        assert study.user_attrs["fold"] == k
        assert study.user_attrs["seed"] == res.seed
        assert study.user_attrs["data_fingerprint"] == fp
        assert study.user_attrs["code_version"] == code_version_text()
        assert study.user_attrs["trial_record"] == 2
        table = res.trials[res.trials["fold"] == k].set_index("number")
        recorded = study_trials(url, name)
        assert [t.number for t in recorded] == list(range(n_trials))
        for t in recorded:
            row = table.loc[t.number]
            plain = stored[t.number]
            assert (plain.params, plain.values, plain.state) == (t.params, t.values, t.state)
            assert {k2: v for k2, v in row["params"].items() if k2 in t.params} == t.params
            if row["state"] == "fail":
                assert t.state == TrialState.FAIL
            elif row["step"] > 0:  # evaluated: its in-sample metrics are kept
                assert t.user_attrs["metrics"]["sharpe_ratio"] == pytest.approx(row["value"])
                assert t.user_attrs["metrics"]["n_trades"] == row["is_n_trades"]
            assert t.user_attrs["qr"]["status"] == row["state"]


def test_sqlite_under_the_run_folder_holds_every_trial(wfo, bars, tmp_path):
    run_dir = tmp_path / "myrun"
    res = wfo(optimizer="tpe", n_trials=12, run_dir=run_dir)
    assert (run_dir / "optuna.db").is_file()
    assert res.storage == f"sqlite:///{(run_dir / 'optuna.db').resolve()}"
    _check_stored(res, bars, 12, res.storage)


def test_rerunning_the_same_call_resumes_without_new_trials(wfo, tmp_path):
    first = wfo(optimizer="ga", n_trials=16, run_dir=tmp_path / "r")
    again = wfo(optimizer="ga", n_trials=16, run_dir=tmp_path / "r")
    cols = ["fold", "number", "state", "value"]
    assert again.trials[cols].equals(first.trials[cols])
    study = optuna.load_study(study_name=first.study_names[0], storage=first.storage)
    assert len(study.trials) == 16


def test_a_study_name_reused_by_another_configuration_is_refused(wfo, tmp_path):
    wfo(optimizer="tpe", n_trials=4, run_dir=tmp_path / "r", study_name="mine")
    with pytest.raises(ConfigError, match="different configuration"):
        wfo(optimizer="tpe", n_trials=4, run_dir=tmp_path / "r", study_name="mine", seed=99)


def test_best_params_and_warm_start_from_a_previous_study(wfo, tmp_path):
    prev = wfo(optimizer="random", n_trials=16, run_dir=tmp_path / "prev")
    top = best_params(prev.storage, prev.study_names[1], top_k=3)
    t = prev.trials[(prev.trials["fold"] == 1) & prev.trials["feasible"]]
    expected = t.sort_values(["value", "number"], ascending=[False, True]).head(3)
    assert top == [
        {"fast": int(r.param_fast), "slow": int(r.param_slow)} for r in expected.itertuples()
    ]
    with pytest.raises(ConfigError, match="no study"):
        best_params(prev.storage, "nope")

    res = wfo(optimizer="tpe", n_trials=8, warm_start=top, run_dir=tmp_path / "next")
    for k in (0, 1):
        first = res.trials[res.trials["fold"] == k].sort_values("number").head(3)
        assert [dict(p) for p in first["params"]] == top


@pytest.mark.parametrize("name", ["tpe", "cmaes", "random", "nsga2"])
def test_optuna_warm_starts_are_the_first_trials(wfo, name):
    seeds = [{"fast": 7, "slow": 77}, {"fast": 5, "slow": 50}, {"fast": 12}]
    res = wfo(optimizer=name, n_trials=8, warm_start=seeds)
    for k in (0, 1):
        first = res.trials[res.trials["fold"] == k].sort_values("number").head(3)
        assert [dict(p) for p in first["params"]] == [
            {"fast": 7, "slow": 77},
            {"fast": 5, "slow": 50},
            {"fast": 12, "slow": 30},  # missing parameters take their defaults
        ]


def test_deap_seeds_part_of_its_first_population(wfo):
    seeds = [{"fast": 3 + i, "slow": 40 + 10 * i} for i in range(6)]
    res = wfo(optimizer="ga", n_trials=16, warm_start=seeds)  # population 8, seed_fraction 0.5
    for k in (0, 1):
        gen0 = res.trials[res.trials["fold"] == k].sort_values("number").head(8)
        params = [dict(p) for p in gen0["params"]]
        assert params[:4] == seeds[:4]  # half of the first population from the warm starts
        assert all(p not in seeds[4:] for p in params[4:])
    res = wfo(optimizer="ga", n_trials=8, warm_start=seeds[:2])
    first = res.trials[res.trials["fold"] == 0].sort_values("number").head(2)
    assert [dict(p) for p in first["params"]] == seeds[:2]


def test_bad_warm_starts_are_refused(wfo):
    with pytest.raises(ParameterError, match=r"warm_start\[0\].*did you mean 'fast'"):
        wfo(warm_start=[{"fsat": 3}])
    with pytest.raises(ParameterError, match=r"warm_start\[1\].*must be < `slow`"):
        wfo(warm_start=[{"fast": 3}, {"fast": 50, "slow": 20}])


def _postgres_or_skip() -> str:
    try:
        import sqlalchemy

        from research.optimize.storage import _with_installed_driver

        engine = sqlalchemy.create_engine(
            _with_installed_driver(POSTGRES_URL), connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        engine.dispose()
    except Exception as exc:  # no driver, no server, wrong password: skip with the reason
        pytest.skip(
            f"no PostgreSQL server reachable at {safe_url(POSTGRES_URL)} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); run .ci/start_postgres.sh "
            "or set RESEARCH_TEST_POSTGRES_URL"
        )
    return POSTGRES_URL


@pytest.mark.postgres
def test_postgresql_storage_records_every_trial_and_resumes(wfo, bars, tmp_path):
    url = _postgres_or_skip()
    name = f"qr-test-{uuid.uuid4().hex[:12]}"
    res = wfo(optimizer="tpe", n_trials=10, storage=url, study_name=name, run_dir=tmp_path / "pg")
    assert not (tmp_path / "pg" / "optuna.db").exists()
    assert "***" in res.storage or "@" not in res.storage  # password hidden
    _check_stored(res, bars, 10, url)
    ref = wfo(optimizer="tpe", n_trials=10, run_dir=tmp_path / "sqlite")
    cols = ["fold", "number", "state", "value"]
    assert res.trials[cols].equals(ref.trials[cols])  # same trials whatever the database
    again = wfo(optimizer="tpe", n_trials=10, storage=url, study_name=name, run_dir=tmp_path / "pg")
    assert again.trials[cols].equals(res.trials[cols])
    assert (
        len(optuna.load_study(study_name=f"{name}.fold0", storage=open_storage(url)).trials) == 10
    )
    for study in (f"{name}.fold0", f"{name}.fold1"):
        optuna.delete_study(study_name=study, storage=open_storage(url))


def test_settings_added_later_enter_the_study_name_only_when_set(wfo, tmp_path):
    """Hyperband assigns brackets from the study name, so a default setting added to Costs or
    Execution must leave the names of configurations that do not use it unchanged."""
    from backtest import Costs
    from backtest.execution import Execution

    plain = wfo(optimizer="random", n_trials=2, costs=Costs(fees=0.0005, slippage_bps=2))
    # the configuration's text before financing, spread, sell fees and leverage existed
    assert plain.config["costs"] == "Costs(fees=0.0005, fixed_fees=0.0, slippage_bps=2.0)"
    assert "max_leverage" not in plain.config
    borrow = wfo(optimizer="random", n_trials=2, costs=Costs(fees=0.0005, borrow_rate=0.02))
    assert borrow.config["costs"] == (
        "Costs(fees=0.0005, fixed_fees=0.0, slippage_bps=0.0, borrow_rate=0.02)"
    )
    levered = wfo(
        optimizer="random",
        n_trials=2,
        execution=Execution(costs=Costs(fees=0.0005, slippage_bps=2), max_leverage=2.0),
    )
    assert levered.config["max_leverage"] == 2.0
    names = {r.study_names[0] for r in (plain, borrow, levered)}
    assert len(names) == 3  # leverage used to share the unlevered run's studies


def _bare_study(url: str, name: str) -> tuple[object, int]:
    """A study as a run killed between creating it and writing its attributes leaves it."""
    from optuna.study import StudyDirection

    storage = open_storage(url)
    return storage, storage.create_new_study([StudyDirection.MAXIMIZE], name)


def test_a_study_killed_before_its_attributes_is_finished_on_reopening(tmp_path):
    from research.optimize.storage import TrialStore

    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage, study_id = _bare_study(url, "s.fold0")
    store = TrialStore(url, "s.fold0", ["maximize"], {"config_hash": "abc", "seed": 3}).open()
    assert store.n_written_ == 0
    assert storage.get_study_user_attrs(study_id) == {
        "config_hash": "abc",
        "seed": 3,
        "trial_record": 2,
    }


def test_a_study_without_attributes_but_with_trials_is_refused(tmp_path):
    from research.optimize.storage import TrialStore

    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage, study_id = _bare_study(url, "s.fold0")
    optuna.load_study(study_name="s.fold0", storage=url).add_trial(
        optuna.trial.create_trial(value=1.0, params={}, distributions={})
    )
    with pytest.raises(ConfigError, match=r"study 's.fold0' in .* was created by a different "):
        TrialStore(url, "s.fold0", ["maximize"], {"config_hash": "abc"}).open()
