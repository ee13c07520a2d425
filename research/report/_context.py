"""The base of every section mixin of :class:`research.report._build.ReportContext`: what a
section may read (set by ``ReportContext.__init__``) and the helpers all sections share."""

from __future__ import annotations

from typing import Any

from research.run.results import RunResults

__all__ = ["SectionsBase"]


class SectionsBase:
    """Attributes: ``run`` (the typed results), ``r`` (its JSON), ``d`` (the run folder's data:
    results and ``series/`` frames), ``top_n`` / ``max_trades`` (report options), ``metric``
    (the ranking metric), ``board`` (leaderboard rows), ``lead`` (how the lead candidate is
    named in figures)."""

    run: RunResults
    r: dict
    d: dict
    top_n: int
    max_trades: int
    metric: str
    board: list
    lead: str

    def section(self, id_: str, title: str, html_: str, note: str = "", cls: str = "") -> dict:
        """One section of the report: id, title, HTML body, a note under it, a CSS class."""
        return {"id": id_, "title": title, "html": html_, "note": note, "cls": cls}

    def section_if_any(self, id_: str, title: str, html_: str, note: str = "") -> dict | None:
        """:meth:`section`, or None when ``html_`` is empty (no figure to show)."""
        return self.section(id_, title, html_, note) if html_ else None

    def saved_trials(self) -> Any:
        """The search's trials table (``series/trials``), None when the run saved none."""
        trials = self.d.get("trials")
        return None if trials is None or trials.empty else trials
