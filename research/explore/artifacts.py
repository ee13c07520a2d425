"""Write an exploration to a folder: the one module that knows both the result
(:mod:`research.explore.pipeline`) and its HTML page (:mod:`research.explore.report`), so the
result class does not import the renderer."""

from __future__ import annotations

import json
from pathlib import Path

from research._json import to_jsonable
from research.explore.pipeline import ExplorationResult
from research.explore.report import render_explore_page
from research.explore.spec import spec_hash
from research.explore.suggest import save_selection

__all__ = ["write_exploration"]


def write_exploration(result: ExplorationResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``features.parquet``, ``selected.parquet``, ``selected.json``, ``findings.json``
    and ``explore.html`` (self-contained, opens offline) into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"features": out / "features.parquet"}
    result.features.to_parquet(paths["features"])
    scores = result.screening.scores
    meta = {
        "symbol": result.symbol,
        "train_end": result.train_end.isoformat(),
        "horizons": list(result.spec.horizons),
        "data_fingerprint": result.findings["data"]["fingerprint"],
        "spec_hash": spec_hash(result.spec),
        "transforms": {
            row["new_name"]: {"feature": name, "transform": row["transform"]}
            for name, row in result.feature_info.iterrows()
            if row.get("applied") == "transformed"
        },
        "scores": {
            f: {
                "score": float(scores.at[f, "score"]),
                "best_horizon": int(scores.at[f, "best_horizon"]),
                "rank_ic": float(scores.at[f, "rank_ic"]),
            }
            for f in result.selected
        },
    }
    paths["selected"], paths["selected_json"] = save_selection(
        result.features, result.selected, out, meta
    )
    paths["findings"] = out / "findings.json"
    paths["findings"].write_text(json.dumps(to_jsonable(result.findings), indent=2, default=str))
    paths["html"] = out / "explore.html"
    paths["html"].write_text(render_explore_page(result), encoding="utf-8")
    return paths
