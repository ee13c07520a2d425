"""The abstract base of a bar source plug-in.

A source is one module in this folder with one :class:`Source` subclass, registered in
``data_loaders/sources/__init__.py``. It is chosen by :func:`data_loaders.load_bars` either by a
*scheme* prefix (``sample:aapl``, ``yfinance:AAPL``, ``ccxt:binance:BTC/USDT``) or, for files and
folders, by path suffix (``.csv``, ``.parquet``) or kind (a folder).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from data_loaders.bars import Bars
from data_loaders.errors import ParameterError, did_you_mean

__all__ = ["Source", "FileSource", "Bars"]


class Source(ABC):
    """One kind of bar source.

    Class attributes
    ----------------
    name : str
        Registry name (``"csv"``).
    scheme : str or None
        Prefix selecting this source in ``load_bars("scheme:target")``.
    suffixes : tuple of str
        Lower-case file name endings this source reads (``(".csv", ".csv.gz")``).
    options : tuple of str
        Extra keyword options :meth:`load` accepts besides ``tz``, ``adjust``, ``repair``.
    description : str
        One line for listings.
    """

    name: ClassVar[str]
    scheme: ClassVar[str | None] = None
    suffixes: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def handles_path(self, path: Path) -> bool:
        """True if this source reads the file or folder at ``path`` (decided by its name/kind)."""
        name = path.name.lower()
        return bool(self.suffixes) and name.endswith(self.suffixes)

    def check_options(self, options: dict[str, Any]) -> None:
        """Refuse options this source does not know, with a did-you-mean."""
        for key in options:
            if key not in self.options:
                raise ParameterError(
                    f"source {self.name!r} has no option {key!r}{did_you_mean(key, self.options)}"
                )

    @abstractmethod
    def load(
        self,
        target: str | Path,
        *,
        tz: str | None = None,
        adjust: bool = True,
        repair: Iterable[str] | str = (),
        **options: Any,
    ) -> Bars:
        """Load and validate bars from ``target`` (the part after ``scheme:``, or a path)."""


class FileSource(Source):
    """A source that is one ``load_*`` function of a file: :attr:`reader` is called as
    ``reader(target, tz=tz, adjust=adjust, repair=repair, **options)`` once the options are
    checked."""

    reader: ClassVar[Callable[..., Bars]]

    def load(self, target: str | Path, *, tz=None, adjust=True, repair=(), **options: Any) -> Bars:
        self.check_options(options)
        return self.reader(target, tz=tz, adjust=adjust, repair=repair, **options)
