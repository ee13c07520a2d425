"""The self-contained HTML report of a research run (``report.html``).

:func:`build_report` reads a saved run folder and writes ``report.html`` beside it; it opens
offline (inline CSS, plotly.js inlined once). ``research report RUN_DIR`` calls it.
"""

from research.report._build import build_report, load_run_data, render_report

__all__ = ["build_report", "render_report", "load_run_data"]
