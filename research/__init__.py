"""Research layer: exploration, optimization, overfitting checks, ranking, experiments, reports."""
