"""Pins of the reaches into Optuna's private modules (research.optimize._optuna_internals).

Each reach has a fallback that keeps results exact when Optuna changes; these tests make such a
change fail loudly instead of silently slowing searches down.
"""

from __future__ import annotations

import numpy as np
import optuna

from research.optimize._optuna_internals import (
    _ALEMBIC_SCRIPT,
    bulk_insert_trials,
    bulk_set_study_user_attrs,
    carry_search_space_caches,
    fast_log_ndtr,
    hyperband_bracket_id,
    random_draw,
    shared_alembic_script,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_fast_log_ndtr_swaps_tpe_log_ndtr_for_an_equal_function():
    from optuna.samplers._tpe import _truncnorm
    from scipy.special import log_ndtr

    original = _truncnorm._log_ndtr
    x = np.linspace(-30.0, 8.0, 400)
    with fast_log_ndtr():
        assert _truncnorm._log_ndtr is log_ndtr
    assert _truncnorm._log_ndtr is original  # restored
    expected = original(x)
    np.testing.assert_allclose(log_ndtr(x), expected, rtol=1e-10, atol=1e-12)


def _objective(trial):
    return trial.suggest_float("x", -1, 1) ** 2 + trial.suggest_int("n", 0, 9)


def test_search_space_caches_are_carried_and_change_no_sample():
    from optuna.search_space import IntersectionSearchSpace

    def run(carry: bool) -> list[dict]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=True))
        for k in range(25):
            new = optuna.samplers.TPESampler(seed=k, multivariate=True, group=True)
            old = study.sampler
            if carry:
                carry_search_space_caches(old, new)
                if k > 0:
                    shared = [
                        a
                        for a, v in vars(new).items()
                        if isinstance(v, IntersectionSearchSpace) and vars(old)[a] is v
                    ]
                    assert shared, "no IntersectionSearchSpace attribute carried over"
            study.sampler = new
            study.optimize(_objective, n_trials=1)
        return [t.params for t in study.trials]

    assert run(True) == run(False)


def test_group_decomposed_search_space_is_where_we_look_for_it():
    from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace

    sampler = optuna.samplers.TPESampler(seed=0, multivariate=True, group=True)
    assert any(isinstance(v, _GroupDecomposedSearchSpace) for v in vars(sampler).values())


def test_bulk_insert_writes_what_add_trials_would(tmp_path):
    from research.optimize.storage import open_storage

    url = f"sqlite:///{tmp_path / 'o.db'}"
    source = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    source.optimize(_objective, n_trials=6)
    trials = source.get_trials(deepcopy=True)
    for t in trials:
        t.set_user_attr("metrics", {"sharpe_ratio": float(t.number), "bad": float("nan")})

    storage = open_storage(url)
    study_id = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "bulk")
    bulk_insert_trials(storage, study_id, trials)
    got = optuna.load_study(study_name="bulk", storage=url).get_trials()
    assert [t.number for t in got] == list(range(6))
    for a, b in zip(trials, got):
        assert b.params == a.params and b.values == a.values and b.state == a.state
        assert b.distributions == a.distributions
        assert b.user_attrs["metrics"] == {"sharpe_ratio": float(a.number), "bad": None}


def test_bulk_insert_stores_the_trials_rows_as_optuna_does(tmp_path):
    """SQLite ``trials`` rows go in as raw text (state name, naive UTC datetime): byte for byte
    what Optuna's own ``add_trials`` (SQLAlchemy's Enum and DateTime types) stores."""
    import sqlite3

    from research.optimize.storage import open_storage

    path = tmp_path / "o.db"
    source = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    source.optimize(_objective, n_trials=4)
    source.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    trials = source.get_trials(deepcopy=True)
    trials[1].datetime_start = trials[1].datetime_start.replace(microsecond=0)
    storage = open_storage(f"sqlite:///{path}")
    ours = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "bulk")
    bulk_insert_trials(storage, ours, trials)
    optuna.create_study(study_name="own", storage=storage).add_trials(trials)
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT s.study_name, t.number, t.state, t.datetime_start, t.datetime_complete "
            "FROM trials t JOIN studies s USING (study_id) ORDER BY s.study_name, t.number"
        ).fetchall()
    bulk, own = rows[:5], rows[5:]
    assert [r[0] for r in bulk] == ["bulk"] * 5 and [r[0] for r in own] == ["own"] * 5
    assert [r[1:] for r in bulk] == [r[1:] for r in own]
    assert bulk[4][2] == "FAIL" and bulk[1][3].endswith(".000000")


def test_hyperband_bracket_id_reads_the_pruner(tmp_path):
    study = optuna.create_study(
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=8, reduction_factor=2)
    )
    ids = set()
    for _ in range(12):
        trial = study.ask()
        ids.add(hyperband_bracket_id(study, trial))
        study.tell(trial, 0.0)
    assert ids <= set(range(4)) and len(ids) > 1  # 4 brackets for 1..8 with factor 2


def test_storages_opened_share_one_alembic_script(tmp_path):
    from optuna.storages._rdb.storage import _VersionManager

    original = _VersionManager._create_alembic_script
    with shared_alembic_script():
        assert _VersionManager._create_alembic_script is not original
        a = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'a.db'}")
        b = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'b.db'}")
        script = a._version_manager._create_alembic_script()
        assert b._version_manager._create_alembic_script() is script is _ALEMBIC_SCRIPT[0]
    assert _VersionManager._create_alembic_script is original  # restored
    # the shared script stamps what Optuna's own gives: the head revision of the installed Optuna
    fresh = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'c.db'}")
    head = fresh._version_manager.get_head_version()
    for storage in (a, b, fresh):
        assert storage._version_manager.get_current_version() == head


def test_bulk_study_user_attrs_read_back_like_set_study_user_attr(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'o.db'}")
    attrs = {"config": {"a": [1, 2.5, None]}, "seed": 7, "name": "x"}
    one = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "one")
    for k, v in attrs.items():
        storage.set_study_user_attr(one, k, v)
    bulk = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "bulk")
    bulk_set_study_user_attrs(storage, bulk, attrs)
    assert storage.get_study_user_attrs(bulk) == storage.get_study_user_attrs(one) == attrs


def test_random_draw_is_the_random_samplers_draw():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    dists = [
        IntDistribution(5, 60),
        IntDistribution(5, 200, log=True),
        IntDistribution(10, 100, step=10),
        FloatDistribution(0.0, 1.0),
        FloatDistribution(1e-3, 1.0, log=True),
        FloatDistribution(0.0, 2.0, step=0.25),
        CategoricalDistribution(["a", "b", "c"]),
    ]
    for seed in range(5):
        sampler = optuna.samplers.RandomSampler(seed=seed)
        rng = np.random.RandomState(seed)
        for d in dists:
            want = sampler.sample_independent(None, None, "p", d)
            assert random_draw(d)(rng) == want


def test_no_other_module_reaches_into_optuna_privates():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[3] / "research"
    pattern = re.compile(r"optuna[.\w]*\._\w|from optuna\S* import _\w")
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "_optuna_internals.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
