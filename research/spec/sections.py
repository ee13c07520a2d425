"""The sections of an experiment spec: small frozen dataclasses. Every default lives here.

``research run --show-defaults`` prints them as YAML; ``docs/experiments.md`` explains each key;
:mod:`research.spec.parse` reads a YAML mapping into them. The ``explore:`` section is
:class:`ExploreSection` (the exploration's own spec is :class:`research.explore.ExploreSpec`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from backtest.costs import Costs
from research._json import to_jsonable

__all__ = [
    "DataSpec",
    "ExploreSection",
    "StrategySpec",
    "ExitSpec",
    "SizingSpec",
    "OptimizerSpec",
    "BudgetSpec",
    "WalkForwardSpec",
    "ObjectiveSpec",
    "GuardrailSpec",
    "CostSpec",
    "GateSpec",
    "DSR_TRIALS",
    "RankingSpec",
    "TrackingSpec",
    "ReportSpec",
    "NightlySpec",
    "UniverseSpec",
    "UNIVERSE_MODES",
    "AGGREGATES",
    "Experiment",
]


@dataclass(frozen=True)
class DataSpec:
    """Where the bars come from.

    ``source``: ``sample:NAME`` (bundled), a ``.csv``/``.parquet`` file, a folder of one file per
    symbol, or an online source ``yfinance:SYMBOL`` / ``ccxt:EXCHANGE:SYMBOL`` (extra ``online``).
    Relative paths are looked up from the working directory, then from the spec's folder.
    ``symbols`` picks symbols from a multi-symbol source (all when empty). ``start``/``end``
    (inclusive, ISO dates, UTC) cut the range; ``resample`` (``"1D"``, ``"4h"``) makes coarser
    bars; ``periods_per_year`` annualises metrics (inferred from the bar spacing when empty).
    """

    source: str = ""
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    resample: str | None = None
    adjust: bool = True
    tz: str | None = None
    periods_per_year: int | None = None


@dataclass(frozen=True)
class ExploreSection:
    """Feature exploration before the search (``research.explore``).

    ``spec``: an exploration spec file path or an inline mapping (the default spec when empty).
    Needed when a strategy asks for ``features: explore``.
    """

    enabled: bool = False
    spec: str | dict | None = None


@dataclass(frozen=True)
class ExitSpec:
    """The exit layer around a strategy (``exits:``; :mod:`backtest.exits` gives the fill rules).

    Each level (``stop_loss``, ``stop_loss_atr``, ``take_profit``, ``take_profit_atr``,
    ``trailing_stop``, ``trailing_stop_atr``, ``time_stop``, ``break_even``) is off (null), a
    fixed value, or searched: ``{low, high, log, step}`` (missing keys from
    :func:`strategies.exit_space`'s defaults; ``{}`` = the default range) or a list of choices.
    Searched levels join the strategy's space as ``exit_<name>``. ``atr_window`` (fixed: one ATR
    per batch), ``intrabar`` (``conservative``: stop first when a bar touches stop and target;
    ``optimistic`` flatters) and ``reentry`` (``after-reset``: no re-entry until the signal turns
    off and on again; ``immediate``) are settings.
    """

    stop_loss: Any = None
    stop_loss_atr: Any = None
    take_profit: Any = None
    take_profit_atr: Any = None
    trailing_stop: Any = None
    trailing_stop_atr: Any = None
    time_stop: Any = None
    break_even: Any = None
    atr_window: int = 14
    intrabar: str = "conservative"
    reentry: str = "after-reset"


@dataclass(frozen=True)
class SizingSpec:
    """Position sizing (``sizing:``; :mod:`backtest.sizing`).

    ``method``: ``fixed_fraction`` (the target exposure as a fraction of equity, default),
    ``vol_target`` (scale to ``target_vol`` annualised volatility from the last ``window``
    close-to-close returns, capped at ``max_leverage``) or ``kelly`` (``fraction`` of the Kelly
    bet estimated on the strategy's last ``window`` unit returns, capped at ``cap``).
    ``target_vol``, ``window``, ``max_leverage``, ``fraction`` and ``cap`` may be searched like
    exit levels (``sizing_<name>`` in the space). ``whole_units`` rounds orders down to whole
    units.
    """

    method: str = "fixed_fraction"
    target_vol: Any = 0.15
    window: Any = 20
    max_leverage: Any = 1.0
    fraction: Any = 0.5
    cap: Any = 1.0
    whole_units: bool = False


@dataclass(frozen=True)
class StrategySpec:
    """One strategy to search: ``name`` is a registry name or ``path/file.py:ClassName``.

    ``label`` names it in the leaderboard (default: ``name``, or ``ClassName`` for a file). ``space`` overrides the declared
    space (see the module docstring). ``features``: none, ``explore`` (the selected set of the
    exploration, computed per training window) or an explicit list of feature columns.
    ``mode``: this entry's ``universe.mode`` when it differs from the section's (e.g. the same
    strategy ``pooled`` and ``per_symbol`` side by side in one run).
    ``exits`` / ``sizing`` replace the spec's global sections for this strategy.
    """

    name: str
    label: str = ""
    space: dict = field(default_factory=dict)
    features: str | tuple[str, ...] | None = None
    mode: str | None = None
    exits: ExitSpec | None = None
    sizing: SizingSpec | None = None

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.rsplit(":", 1)[-1])


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer plug-in (``tpe``, ``cmaes``, ``gp``, ``random``, ``grid``, ``nsga2``, ``ga``,
    ``deap_nsga2``; see ``research.optimize``) and its options (passed through)."""

    name: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetSpec:
    """Search budget: ``n_trials`` per fold for each strategy x optimizer; ``timeout`` in seconds
    per fold (none: no limit); ``trial_timeout`` in seconds per trial evaluation (a trial past
    it is stopped and recorded as failed, the search goes on; none: no limit); ``pruner``:
    ``hyperband`` / ``successive_halving`` for multi-fidelity search (trials report at each data
    fraction), none to evaluate fully."""

    n_trials: int = 50
    timeout: float | None = None
    trial_timeout: float | None = None
    pruner: str | None = None


@dataclass(frozen=True)
class WalkForwardSpec:
    """Walk-forward layout (``backtest.splitters.WalkForward``): sizes in bars (int) or pandas
    durations (``"3Y"``, ``"6M"``, ``"180D"``, ``"12h"``); ``step`` defaults to ``test``; ``purge`` and
    ``embargo`` in bars."""

    train: str | int = "3Y"
    test: str | int = "1Y"
    step: str | int | None = None
    anchored: bool = False
    purge: int = 0
    embargo: int = 0


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: a metric of :data:`METRICS`, ``psr`` (probabilistic Sharpe ratio of the
    window's returns) or an ``expression`` over them (``metric`` is then its name), and
    ``maximize``/``minimize``."""

    metric: str = "sharpe_ratio"
    direction: str = "maximize"
    expression: str | None = None


@dataclass(frozen=True)
class GuardrailSpec:
    """Constraints every trial must meet during the search (infeasible trials are not picked).

    ``max_drawdown`` is a positive fraction (0.5: no drawdown deeper than 50%). ``rules``:
    expressions over metric names that must be true (``"n_trades >= 20 and psr > 0.6"``)."""

    min_trades: int | None = None
    max_drawdown: float | None = None
    max_turnover: float | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostSpec:
    """Trading costs and execution (``backtest.costs.Costs`` and ``backtest.Execution``).

    Fees: ``fees`` (proportional, buys and sells unless ``sell_fees`` is set), ``sell_fees``,
    ``fixed_fees`` (cash per order), ``min_fee`` (cash floor of the proportional fee),
    ``slippage_bps`` and ``spread_bps`` (the full quoted spread; half is paid per fill).
    Financing, annual rates accrued per bar: ``borrow_rate`` (short notional), ``cash_rate``
    (positive cash), ``debit_rate`` (borrowed cash). Execution: ``execution`` (fill timing),
    ``direction``, ``init_cash``, ``max_leverage`` (gross exposure limit, 1 = none),
    ``maintenance_margin`` (margin call below this fraction of the position value, 0 = off),
    ``notional`` (cash a target of 1 means; null = a fraction of equity), ``whole_units`` and
    ``participation`` (largest share of a bar's volume per order, 0 = no limit). The rules are
    those of :mod:`backtest.financing` and :class:`backtest.costs.Costs`.
    """

    # the cost model's fields take :class:`backtest.costs.Costs`'s defaults (one home)
    fees: float = Costs.fees
    fixed_fees: float = Costs.fixed_fees
    slippage_bps: float = Costs.slippage_bps
    execution: str = "next-open"
    direction: str = "both"
    init_cash: float = 100_000.0
    sell_fees: float | None = Costs.sell_fees
    min_fee: float = Costs.min_fee
    spread_bps: float = Costs.spread_bps
    borrow_rate: float = Costs.borrow_rate
    cash_rate: float = Costs.cash_rate
    debit_rate: float = Costs.debit_rate
    max_leverage: float = 1.0
    maintenance_margin: float = 0.0
    notional: float | None = None
    whole_units: bool = False
    participation: float = 0.0


#: what the deflated Sharpe ratio counts as trials (``gates.dsr_trials``; docs/gates.md)
DSR_TRIALS = ("candidates", "all_trials", "effective")


@dataclass(frozen=True)
class GateSpec:
    """Thresholds a candidate must pass to be picked (``None`` disables a gate).

    ``min_dsr``: deflated Sharpe ratio (probability); ``max_pbo``: probability of backtest
    overfitting; ``min_stability``: neighbourhood / pick performance ratio; ``min_trades``:
    out-of-sample trades; ``max_drawdown``: positive fraction; ``min_wfe``: walk-forward
    efficiency (OOS / IS); ``max_spa_pvalue``: Hansen's SPA p-value against buy-and-hold;
    ``min_breadth``: share of a universe's symbols with a positive out-of-sample Sharpe ratio.
    ``dsr_trials``: what the deflated Sharpe ratio counts as trials (one of
    :data:`DSR_TRIALS`): ``candidates`` (the candidates compared out of sample plus every
    earlier look at the same out-of-sample data, the default), ``all_trials`` (every in-sample
    trial of every fold) or ``effective`` (correlation clusters of the candidates).

    The defaults are the calibrated gate set of docs/gates.md (measured on the quickstart-size
    search: 0 false champions in 84 null runs, 80 % power at an out-of-sample Sharpe of about
    1.3): PBO and SPA are reported but not gated. :class:`research.judge.gates.Gates` inherits
    these fields, so the defaults live here only.
    """

    min_dsr: float | None = 0.95
    max_pbo: float | None = None
    min_stability: float | None = 0.5
    min_trades: int | None = 10
    max_drawdown: float | None = 0.5
    min_wfe: float | None = 0.2
    max_spa_pvalue: float | None = None
    min_breadth: float | None = None
    dsr_trials: str = "candidates"


#: research modes over several symbols (``universe.mode``)
UNIVERSE_MODES = ("per_symbol", "pooled", "portfolio")
#: how ``pooled`` aggregates the per-symbol objective (``universe.aggregate``)
AGGREGATES = ("mean", "median", "min", "portfolio")


@dataclass(frozen=True)
class UniverseSpec:
    """Research over several symbols (``data.symbols``, a folder, a multi-symbol sample).

    ``mode``: ``per_symbol`` (each symbol searched on its own: one leaderboard row per symbol x
    strategy x optimizer), ``pooled`` (one parameter set for every symbol; the objective is
    ``aggregate`` of the per-symbol metrics, or the metric of the book when ``portfolio``) or
    ``portfolio`` (a multi-asset strategy's weights, one book with shared cash). None: one
    symbol only (a single-symbol strategy on several symbols is refused). ``rebalance``,
    ``max_gross``, ``max_net``: the book's schedule and exposure limits
    (:class:`backtest.portfolio.BookSettings`); ``allocation``: how ``pooled`` turns per-symbol
    positions into book weights (:func:`strategies.allocation.allocate`).
    """

    mode: str | None = None
    aggregate: str = "mean"
    rebalance: str = "bar"
    max_gross: float = 1.0
    max_net: float = 1.0
    allocation: str = "equal"


@dataclass(frozen=True)
class RankingSpec:
    """Leaderboard: rank candidates by an out-of-sample ``metric``; the ``top_k`` best distinct
    trials per strategy x optimizer and fold are re-evaluated out of sample to form the PBO
    matrix (the candidates themselves are each search's fold-by-fold picks)."""

    metric: str = "sharpe_ratio"
    top_k: int = 10


@dataclass(frozen=True)
class TrackingSpec:
    """Experiment tracking: ``none`` or ``mlflow`` (``uri`` default: ``sqlite:///<runs>/mlflow.db``)."""

    backend: str = "none"
    uri: str | None = None
    experiment: str | None = None


@dataclass(frozen=True)
class ReportSpec:
    """HTML report options."""

    enabled: bool = True
    title: str | None = None
    top_n: int = 25
    max_trades: int = 500


@dataclass(frozen=True)
class NightlySpec:
    """Nightly champion/challenger re-optimization (``research nightly``).

    ``n_trials`` per fold (default: ``budget.n_trials``); ``window``: the most recent
    out-of-sample window both are judged on (default: ``walk_forward.test``); ``min_improvement``:
    how much the challenger's ``ranking.metric`` must beat the champion's on that window;
    ``warm_start``: how many best trials of the last study seed the search. ``refit``: fit a
    learning strategy's promoted parameters again on the most recent ``walk_forward.train``
    bars (ending at the newest bar) before computing the targets, instead of the training
    window before the judging window (rule-based strategies have nothing to fit).
    ``notify``: a shell command that receives the night's summary as one JSON object on its
    standard input (see ``docs/nightly.md``). ``timeout``: seconds
    after which the night is stopped (exit 124; its unfinished run folder stays), none: no limit.
    """

    n_trials: int | None = None
    window: str | int | None = None
    min_improvement: float = 0.0
    warm_start: int = 5
    timeout: float | None = None
    refit: bool = False
    notify: str | None = None


@dataclass(frozen=True)
class Experiment:
    """A validated experiment spec. ``path`` is the file it came from (None when built in code).

    ``lookahead``: what the truncation check before the search does when a strategy reads the
    future: ``error`` (stop the run, the default), ``warn`` (record it and go on) or ``off``.
    """

    name: str
    data: DataSpec
    strategies: tuple[StrategySpec, ...]
    description: str = ""
    seed: int = 0
    explore: ExploreSection = field(default_factory=ExploreSection)
    optimizers: tuple[OptimizerSpec, ...] = (OptimizerSpec("tpe"),)
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    walk_forward: WalkForwardSpec = field(default_factory=WalkForwardSpec)
    objectives: tuple[ObjectiveSpec, ...] = (ObjectiveSpec(),)
    guardrails: GuardrailSpec = field(default_factory=GuardrailSpec)
    costs: CostSpec = field(default_factory=CostSpec)
    exits: ExitSpec = field(default_factory=ExitSpec)
    sizing: SizingSpec = field(default_factory=SizingSpec)
    gates: GateSpec = field(default_factory=GateSpec)
    ranking: RankingSpec = field(default_factory=RankingSpec)
    universe: UniverseSpec = field(default_factory=UniverseSpec)
    storage: str | None = None
    workers: int = 1
    scheduler: str | None = None
    tracking: TrackingSpec = field(default_factory=TrackingSpec)
    report: ReportSpec = field(default_factory=ReportSpec)
    nightly: NightlySpec = field(default_factory=NightlySpec)
    lookahead: str = "error"
    path: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain YAML-able data (what the run folder saves)."""
        out = to_jsonable(asdict(self))
        out.pop("path", None)
        return out

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1
