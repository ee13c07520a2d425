"""``research cache [show]`` and ``research cache clear [--what NAME]``: the on-disk caches.

Three caches (:mod:`data_loaders.lru`): ``data`` (downloaded bars), ``explore`` (exploration
feature tables) and ``numba`` (compiled kernels). Each has a size cap
(``$QR_CACHE_MAX_DATA``, ``..._EXPLORE``, ``..._NUMBA``) enforced with least-recently-used
eviction; ``clear`` deletes a cache's entries and nothing else.
"""

from __future__ import annotations

import argparse

from research.cli._options import add_command

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "cache", _cache)
    p.add_argument("action", nargs="?", default="show", choices=("show", "clear", "trim"),
                   help="show (default); clear: delete entries; trim: evict down to the caps")  # fmt: skip
    p.add_argument("--what", default="all", metavar="NAME",
                   help="data, explore, numba or all (default)")  # fmt: skip


def _cache(args: argparse.Namespace) -> int:
    """show or clear the data, exploration and numba caches

    Show each cache's folder, entries, size and cap, or clear caches. Caps: QR_CACHE_MAX_DATA,
    QR_CACHE_MAX_EXPLORE, QR_CACHE_MAX_NUMBA (e.g. 2GB, none).
    """
    from data_loaders.lru import CACHES, cache_area, cache_cap, evict, format_size

    names = list(CACHES) if args.what == "all" else [args.what]
    areas = [cache_area(n) for n in names]  # an unknown name is a one-line ConfigError
    if args.action == "show":
        print(f"{'cache':<8} {'entries':>7} {'size':>10} {'cap':>10}  folder")
        for a in areas:
            n, size = a.size()
            folders = ", ".join(str(r) for r in a.roots[:1]) + (" ..." if len(a.roots) > 1 else "")
            print(
                f"{a.name:<8} {n:>7} {format_size(size):>10} "
                f"{format_size(cache_cap(a.name)):>10}  {folders}"
            )
        return 0
    for a in areas:
        cap = 0 if args.action == "clear" else cache_cap(a.name)
        before = a.size()
        removed = evict(a, cap)
        print(f"{a.name}: {len(removed)} files deleted ({format_size(before[1] - a.size()[1])})")
    return 0
