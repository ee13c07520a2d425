"""Every use of Optuna's private modules and attributes, in one place.

``pyproject.toml`` allows ``optuna>=4.0,<6``; these reaches speed things up or save work
and each has a fallback that keeps results exact when Optuna's internals change (only slower).
``tests/research/optimize/test_optuna_internals.py`` pins each one, so an Optuna upgrade that
breaks a reach fails a test loudly instead of silently slowing the searches down:

1. :func:`fast_log_ndtr`: TPE's pure-Python ``optuna.samplers._tpe._truncnorm._log_ndtr``
   swapped for ``scipy.special.log_ndtr`` during an ask (same function, ~1e-13; about halves
   TPE's time on a 1,000-trial study). Fallback: no swap.
2. :func:`carry_search_space_caches`: a fresh sampler per ask takes over the previous one's
   ``IntersectionSearchSpace`` and ``optuna.search_space.group_decomposed.
   _GroupDecomposedSearchSpace`` caches (exact, incremental). Fallback: a rescan per ask.
3. :func:`bulk_insert_trials`: finished trials written in one transaction straight into the
   tables of ``optuna.storages._rdb.models`` (~20x cheaper than ``Study.add_trials``).
   Fallback (in :class:`research.optimize.storage.TrialStore`): the public ``add_trials``.
4. :func:`hyperband_bracket_id`: the bracket Optuna's ``HyperbandPruner`` gives a trial (its
   ``_pruners``, ``_try_initialization``, ``_get_bracket_id`` and the study's ``_storage``), so
   reports below a trial's next rung are skipped. Fallback: every step is evaluated.
5. :func:`shared_alembic_script`: opening an ``RDBStorage`` makes Optuna's version manager read
   its ~30 alembic revision files up to three times (about 0.3 s each); the process reuses one
   ``ScriptDirectory`` (``optuna.storages._rdb.storage._VersionManager._create_alembic_script``).
   Fallback: nothing is shared.
6. :func:`bulk_set_study_user_attrs`: a new study's user attributes in one transaction (one row
   each in ``study_user_attributes``) instead of one transaction per attribute. Fallback (in
   :class:`research.optimize.storage.TrialStore`): ``set_study_user_attr`` per attribute.
7. :func:`random_draw`: the draw of Optuna's ``RandomSampler`` for one distribution (through
   ``optuna._transform._SearchSpaceTransform``), so random search asks without an Optuna study.
   Fallback (in :class:`research.optimize._random.RandomOptimizer`): the Optuna ask/tell path.
10. :func:`tell_shallow`: ``Study.tell`` without its final ``copy.deepcopy`` of the told trial
    (~80 % of a tell; CMA-ES trials carry the sampler's pickled state): ``optuna.study._tell.
    _tell_with_warning`` then a shallow copy of the storage's finished trial. Fallback (in
    :class:`research.optimize._optuna.OptunaOptimizer`): ``Study.tell``.
9. :func:`bulk_create_study`: a new study, its directions and user attributes in one
   transaction of SQLAlchemy Core inserts into ``optuna.storages._rdb.models``' tables
   (``Storage.create_new_study`` then one attribute transaction cost ~10-20 ms of ORM work).
   Fallback (in :class:`research.optimize.storage.TrialStore`): ``create_new_study`` and
   :func:`bulk_set_study_user_attrs`. With it :func:`study_id_by_name`, one Core query
   (``get_study_id_from_name`` goes through an ORM session). Fallback: that public call.
8. :func:`reseed_tpe_sampler`: the TPE sampler of the previous ask reseeded (its two
   ``LazyRandomState``) instead of a fresh ``TPESampler`` per ask: building one costs two
   ``numpy.random.RandomState()`` (~0.2 ms each, OS entropy), reseeding ~5 us. Only when the
   sampler holds exactly the attributes this was checked against. Fallback: a fresh sampler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from research._json import dumps

__all__ = [
    "fast_log_ndtr",
    "carry_search_space_caches",
    "bulk_insert_trials",
    "hyperband_bracket_id",
    "shared_alembic_script",
    "bulk_set_study_user_attrs",
    "bulk_create_study",
    "study_id_by_name",
    "tell_shallow",
    "random_draw",
    "reseed_tpe_sampler",
]


@contextlib.contextmanager
def fast_log_ndtr() -> Iterator[None]:
    """Swap Optuna TPE's pure-Python ``_log_ndtr`` for ``scipy.special.log_ndtr`` meanwhile."""
    try:
        from optuna.samplers._tpe import _truncnorm
        from scipy.special import log_ndtr
    except ImportError:
        yield
        return
    original = getattr(_truncnorm, "_log_ndtr", None)
    if original is None:
        yield
        return
    _truncnorm._log_ndtr = log_ndtr
    try:
        yield
    finally:
        _truncnorm._log_ndtr = original


def carry_search_space_caches(old: Any, new: Any) -> None:
    """Give ``new`` the search-space caches of the previous sampler ``old`` (same study).

    Optuna samplers keep an ``IntersectionSearchSpace`` (TPE: also a group-decomposed one) that
    is updated incrementally and exactly from the study's trials; a fresh sampler per ask would
    rescan every trial at every ask (O(n) per trial). The cached result equals the rescan, so
    this changes no sample, only the time. Attributes are matched by type, so a sampler
    without such caches (or a renamed class) simply rescans.
    """
    if old is None or old is new or type(old) is not type(new):
        return
    from optuna.search_space import IntersectionSearchSpace

    kinds: tuple[type, ...] = (IntersectionSearchSpace,)
    try:
        from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace
    except ImportError:
        pass
    else:
        kinds += (_GroupDecomposedSearchSpace,)
    for attr, value in vars(old).items():
        if isinstance(value, kinds) and attr in vars(new):
            setattr(new, attr, value)


def hyperband_bracket_id(study: Any, trial: Any) -> int:
    """The bracket (its min-resource exponent) Optuna's ``HyperbandPruner`` assigns ``trial``.

    Raises:
        AttributeError, TypeError: Optuna's private layout changed (callers evaluate every
            step instead).
    """
    pruner = study.pruner
    if not pruner._pruners:
        pruner._try_initialization(study)
    frozen = study._storage.get_trial(trial._trial_id)
    return int(pruner._get_bracket_id(study, frozen))


def bulk_insert_trials(
    storage: Any, study_id: int, trials: Sequence[Any], record: tuple[Any, str] | None = None
) -> None:
    """Insert finished trials in one transaction: one multi-row ``INSERT`` per Optuna table.

    SQLAlchemy Core ``executemany`` on Optuna's own tables (``trials`` first, then the rows that
    reference their ``trial_id``); ~20x cheaper than building ORM objects per row. With
    ``record = (table, payload)`` the trials' user attributes are not written as Optuna rows:
    ``payload`` (their columnar JSON, :mod:`research.optimize._records`) goes as one row of
    ``table`` in the same transaction.
    """

    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from sqlalchemy import select

    value_repr = models.TrialValueModel.value_to_stored_repr
    inter_repr = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr

    trial_table = models.TrialModel.__table__
    numbers = [ft.number for ft in trials]
    with storage.engine.begin() as conn:  # one transaction, committed on success
        _lock_study(conn, models.StudyModel.__table__, study_id)
        _insert_trial_rows(conn, trial_table, study_id, trials)
        ids = dict(
            conn.execute(
                select(trial_table.c.number, trial_table.c.trial_id).where(
                    trial_table.c.study_id == study_id,
                    trial_table.c.number >= min(numbers),
                    trial_table.c.number <= max(numbers),
                )
            ).all()
        )
        # a distribution's JSON text is made once: Optuna's told trials carry equal copies
        # (distributions hash and compare by their settings)
        dist_json: dict[Any, str] = {}
        # attribute values shared by many trials (the same objects): their JSON text is made
        # once (the trials keep them alive meanwhile)
        attr_json: dict[int, str] = {}
        params, values, inters, users, systems = [], [], [], [], []
        finite = "FINITE"
        for ft in trials:
            tid = ids[ft.number]
            dists = ft.distributions
            for name, value in ft.params.items():
                dist = dists[name]
                text = dist_json.get(dist)
                if text is None:
                    text = dist_json[dist] = distribution_to_json(dist)
                params.append((tid, name, dist.to_internal_repr(value), text))
            for i, x in enumerate(ft.values or ()):
                if x - x == 0.0:  # finite: stored as is (what value_to_stored_repr gives)
                    values.append((tid, i, x, finite))
                else:
                    v, t = value_repr(x)
                    values.append((tid, i, v, t.name))
            for step, x in ft.intermediate_values.items():
                v, t = inter_repr(x)
                inters.append((tid, int(step), v, t.name))
            if record is None:
                for k, v in ft.user_attrs.items():
                    text = attr_json.get(id(v))
                    if text is None:
                        text = attr_json[id(v)] = dumps(v)
                    users.append((tid, k, text))
            for k, v in ft.system_attrs.items():
                text = attr_json.get(id(v))
                if text is None:
                    text = attr_json[id(v)] = dumps(v)
                systems.append((tid, k, text))
        for model, columns, rows in (
            (models.TrialParamModel, _PARAM_COLUMNS, params),
            (models.TrialValueModel, _VALUE_COLUMNS, values),
            (models.TrialIntermediateValueModel, _INTER_COLUMNS, inters),
            (models.TrialUserAttributeModel, _ATTR_COLUMNS, users),
            (models.TrialSystemAttributeModel, _ATTR_COLUMNS, systems),
        ):
            if rows:
                _insert_rows(conn, model.__table__, columns, rows)
        if record is not None:
            table, payload = record
            conn.execute(
                table.insert(),
                {"study_id": study_id, "first_number": min(numbers),
                 "n_trials": len(numbers), "payload": payload},
            )  # fmt: skip


def _insert_trial_rows(conn: Any, table: Any, study_id: int, trials: Sequence[Any]) -> None:
    """The ``trials`` rows: on SQLite through :func:`_insert_rows` in the stored form
    SQLAlchemy writes (the state's enum name, naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``
    text), elsewhere through SQLAlchemy Core (typed parameters)."""
    import datetime as dt

    def utc(value: Any) -> Any:
        return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)

    if conn.dialect.name == "sqlite":
        shift = _local_to_utc(trials)

        def text(value: Any) -> str | None:
            if value is None:
                return None
            if shift is not None and value.tzinfo is None:
                return (value + shift).isoformat(" ", "microseconds")
            return utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")

        rows = [
            (ft.number, study_id, ft.state.name, text(ft.datetime_start),
             text(ft.datetime_complete))
            for ft in trials
        ]  # fmt: skip
        _insert_rows(conn, table, _TRIAL_COLUMNS, rows)
        return
    dicts = [
        {
            "number": ft.number,
            "study_id": study_id,
            "state": ft.state,
            "datetime_start": utc(ft.datetime_start),
            "datetime_complete": utc(ft.datetime_complete),
        }
        for ft in trials
    ]
    conn.execute(table.insert(), dicts)


def _local_to_utc(trials: Sequence[Any]) -> Any:
    """The offset from local time to UTC shared by every naive timestamp of ``trials``
    (``astimezone`` per timestamp costs ~3 us): the offset at the earliest and at the latest
    one when they agree and lie less than a day apart (so no daylight-saving change falls
    between them), else None."""
    import datetime as dt

    stamps = [
        v
        for ft in trials
        for v in (ft.datetime_start, ft.datetime_complete)
        if v is not None and v.tzinfo is None
    ]
    if not stamps:
        return None
    lo, hi = min(stamps), max(stamps)
    if hi - lo >= dt.timedelta(days=1) or lo.year < 1000:
        return None
    shifts = {v.astimezone(dt.UTC).replace(tzinfo=None) - v for v in (lo, hi)}
    return shifts.pop() if len(shifts) == 1 else None


def _lock_study(conn: Any, table: Any, study_id: int) -> None:
    """Lock the study's row for this transaction (``SELECT ... FOR UPDATE``; a no-op on
    SQLite, whose writers are serialised anyway), as Optuna does before numbering trials.

    Raises:
        KeyError: no such study.
    """
    from sqlalchemy import select

    stmt = select(table.c.study_id).where(table.c.study_id == study_id).with_for_update()
    if conn.execute(stmt).first() is None:
        raise KeyError(f"no study with id {study_id}")


_TRIAL_COLUMNS = ("number", "study_id", "state", "datetime_start", "datetime_complete")
_PARAM_COLUMNS = ("trial_id", "param_name", "param_value", "distribution_json")
_VALUE_COLUMNS = ("trial_id", "objective", "value", "value_type")
_INTER_COLUMNS = ("trial_id", "step", "intermediate_value", "intermediate_value_type")
_ATTR_COLUMNS = ("trial_id", "key", "value_json")


def _insert_rows(conn: Any, table: Any, columns: Sequence[str], rows: list[tuple]) -> None:
    """``executemany`` of plain tuples straight through the DB-API driver.

    Every value is already in its stored form (numbers, text, enum names), so SQLAlchemy's
    per-row parameter processing is skipped; drivers with another parameter style go through
    SQLAlchemy Core.
    """
    style = conn.dialect.paramstyle
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(style)
    if mark is None:
        conn.execute(table.insert(), [dict(zip(columns, row)) for row in rows])
        return
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)


#: the one alembic ``ScriptDirectory`` of the installed Optuna (filled on first use)
_ALEMBIC_SCRIPT: list[Any] = []


@contextlib.contextmanager
def shared_alembic_script() -> Iterator[None]:
    """Meanwhile, every Optuna ``RDBStorage`` opened reuses one alembic ``ScriptDirectory``.

    The revision files are those of the installed Optuna package, the same for every storage
    URL (the URL is only used when alembic runs a migration, which builds its own config), so
    sharing them changes nothing but the time to open a storage.
    """
    try:
        from optuna.storages._rdb.storage import _VersionManager
    except ImportError:
        yield
        return
    original = getattr(_VersionManager, "_create_alembic_script", None)
    if original is None:
        yield
        return

    def shared(self: Any) -> Any:
        if not _ALEMBIC_SCRIPT:
            _ALEMBIC_SCRIPT.append(original(self))
        return _ALEMBIC_SCRIPT[0]

    _VersionManager._create_alembic_script = shared
    try:
        yield
    finally:
        _VersionManager._create_alembic_script = original


def bulk_set_study_user_attrs(storage: Any, study_id: int, attrs: dict[str, Any]) -> None:
    """Write the user attributes of a study that has none yet, in one transaction (the JSON
    text ``set_study_user_attr`` writes)."""
    import json

    from optuna.storages._rdb import models

    if not attrs:
        return
    table = models.StudyUserAttributeModel.__table__
    rows = [{"study_id": study_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
    with storage.engine.begin() as conn:
        conn.execute(table.insert(), rows)


def bulk_create_study(
    storage: Any, study_name: str, directions: Sequence[Any], attrs: dict[str, Any]
) -> int:
    """Create a study with its ``directions`` (``StudyDirection``) and user attributes in one
    transaction; returns its id.

    Raises:
        optuna.exceptions.DuplicatedStudyError: a study of that name exists.
    """
    import json

    import optuna
    from optuna.storages._rdb import models
    from sqlalchemy import exc

    try:
        with storage.engine.begin() as conn:
            result = conn.execute(models.StudyModel.__table__.insert(), {"study_name": study_name})
            study_id = int(result.inserted_primary_key[0])
            conn.execute(
                models.StudyDirectionModel.__table__.insert(),
                [
                    {"study_id": study_id, "objective": i, "direction": d}
                    for i, d in enumerate(directions)
                ],
            )
            if attrs:
                conn.execute(
                    models.StudyUserAttributeModel.__table__.insert(),
                    [
                        {"study_id": study_id, "key": k, "value_json": json.dumps(v)}
                        for k, v in attrs.items()
                    ],
                )
    except exc.IntegrityError:
        raise optuna.exceptions.DuplicatedStudyError(study_name) from None
    return study_id


def study_id_by_name(storage: Any, study_name: str) -> int | None:
    """The id of the study named ``study_name`` (None when there is none)."""
    from optuna.storages._rdb import models
    from sqlalchemy import select

    table = models.StudyModel.__table__
    with storage.engine.connect() as conn:
        row = conn.execute(select(table.c.study_id).where(table.c.study_name == study_name)).first()
    return None if row is None else int(row[0])


def tell_shallow(study: Any, trial: Any, values: Any = None, state: Any = None) -> Any:
    """``study.tell(trial, values, state=state)`` returning a shallow copy of the finished trial
    (its dicts are the in-memory study's: read them, do not change them).

    Raises:
        ImportError, AttributeError: Optuna's private layout changed (callers use ``tell``).
    """
    import copy

    from optuna.study._tell import _tell_with_warning

    storage = study._storage
    trial_id = trial._trial_id
    _tell_with_warning(study=study, trial=trial, value_or_values=values, state=state)
    return copy.copy(storage.get_trial(trial_id))


def random_draw(distribution: Any) -> Any:
    """A function ``rng -> value`` drawing from ``distribution`` exactly as Optuna's
    ``RandomSampler.sample_independent`` does with that generator (one ``rng.uniform`` over
    the transformed bounds, then the inverse transform).

    Raises:
        ImportError, AttributeError: Optuna's private layout changed (callers ask through Optuna).
    """
    from optuna._transform import _SearchSpaceTransform

    trans = _SearchSpaceTransform({"x": distribution})
    low, high = trans.bounds[:, 0], trans.bounds[:, 1]

    def draw(rng: Any) -> Any:
        return trans.untransform(rng.uniform(low, high))["x"]

    return draw


#: every attribute of an Optuna 4/5 ``TPESampler``: besides the two random states (reseeded),
#: the search-space caches (carried over to fresh samplers anyway, exact and incremental),
#: ``_search_space_group`` (recomputed at every ask) and ``_gamma`` (set once from the study's
#: directions), each is a constructor setting
_TPE_ATTRS = frozenset(
    {
        "_constant_liar", "_constraints_func", "_gamma", "_group",
        "_group_decomposed_search_space", "_multivariate", "_n_ei_candidates",
        "_n_startup_trials", "_parzen_estimator_cls", "_parzen_estimator_parameters",
        "_random_sampler", "_rng", "_search_space", "_search_space_group",
        "_warn_independent_sampling",
    }
)  # fmt: skip


def reseed_tpe_sampler(sampler: Any, seed: int) -> bool:
    """Give ``sampler`` (a ``TPESampler``) the random states ``TPESampler(seed=seed)`` starts
    with (``LazyRandomState(seed)`` is ``RandomState().seed(seed)``; its random sampler's too);
    False, changing nothing, when ``sampler`` is not laid out as this module knows."""
    try:
        from optuna.samplers import RandomSampler, TPESampler
        from optuna.samplers._lazy_random_state import LazyRandomState
    except ImportError:
        return False
    if type(sampler) is not TPESampler or set(vars(sampler)) != _TPE_ATTRS:
        return False
    inner = sampler._random_sampler
    states = (sampler._rng, getattr(inner, "_rng", None))
    if type(inner) is not RandomSampler or not all(type(r) is LazyRandomState for r in states):
        return False
    for state in states:
        state.rng.seed(seed=seed)
    return True
