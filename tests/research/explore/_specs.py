"""Small exploration specs shared by the exploration tests (fast to build, every family on)."""

from __future__ import annotations

from typing import Any


def light_features(
    include: list[str],
    *,
    max_per_indicator: int,
    returns: list[int],
    window: int,
    short: int,
    lookback: int,
) -> dict[str, Any]:
    """A ``features:`` section with one small window per family: ``window`` for the moments,
    autocorrelations and reference features, ``short`` for the volatility and the volatility
    regime (ranked over ``lookback`` bars); z-score and volume z-score over 20 bars."""
    return {
        "technical": {"include": include, "max_per_indicator": max_per_indicator},
        "returns": {"windows": returns},
        "volume_z": {"windows": [20]},
        "statistical": {
            "zscore_windows": [20],
            "moment_windows": [window],
            "autocorr_windows": [window],
            "volatility_windows": [short],
            "regime": {"window": short, "lookback": lookback},
        },
        "reference": {"windows": [window]},
    }
