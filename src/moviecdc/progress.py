"""Progress on the terminal: a bar per phase of ``simulate``, a spinner while ``run --once`` works.

Drawn by rich on stderr, and only when stderr is a terminal: piped or redirected output
never holds progress lines. Each phase's bar starts its clock when the phase starts (not
when the command does), so the set-up before it never counts against its speed, and the
time left is shown only once the phase has done some of its work: until then rich
shows ``-:--:--`` rather than a guess.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


def on_terminal() -> bool:
    return sys.stderr.isatty()


class PhaseBars:
    """One bar per phase; ``update(phase, n)`` as ``run_simulation``'s ``on_progress``."""

    def __init__(self, totals: Mapping[str, int]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(bar_width=None),
            TextColumn("{task.completed:>12,.0f} of {task.total:,.0f}"),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left"),
            console=Console(stderr=True),
            transient=False,
            expand=True,
        )
        self._tasks: dict[str, Any] = {
            phase: self._progress.add_task(phase, total=total, start=False) for phase, total in totals.items() if total
        }
        self._started: set[str] = set()

    def __enter__(self) -> PhaseBars:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, phase: str, n: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            return
        if phase not in self._started:
            self._started.add(phase)
            self._progress.start_task(task)
        if n:
            self._progress.advance(task, n)


class NoBars:
    """Stands in for :class:`PhaseBars` off a terminal."""

    def __enter__(self) -> NoBars:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, phase: str, n: int) -> None:
        pass


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner with the time spent, on stderr while the block runs (nothing off a terminal)."""
    if not on_terminal():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message, spinner="dots"):
        yield
