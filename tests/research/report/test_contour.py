"""The report's contour of the objective over two hyperparameters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from research.report._figures import contour_figure


def _trials(points: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "strategy": "s",
            "state": "COMPLETE",
            "params": [json.dumps({"a": a, "b": b}) for a, b, _ in points],
            "value": [v for _, _, v in points],
        }
    )


def test_repeated_points_are_one_point_with_their_mean():
    # (0, 0) asked three times (say in three folds) with values 1, 3 and 5: the surface is 3
    pts = [(0, 0, 1.0), (10, 0, 4.0), (0, 10, 6.0), (10, 10, 8.0), (0, 0, 3.0), (0, 0, 5.0)]
    fig = contour_figure(_trials(pts), "s", "a", "b", "sharpe_ratio")
    contour, dots = fig.data
    z = np.asarray(contour.z, dtype=float)
    assert z[0, 0] == 3.0 and z[0, -1] == 4.0 and z[-1, 0] == 6.0 and z[-1, -1] == 8.0
    assert sorted(zip(dots.x, dots.y)) == [(0, 0), (0, 10), (10, 0), (10, 10)]
