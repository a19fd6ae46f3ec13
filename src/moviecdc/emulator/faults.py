"""Fault injection for crash tests (off unless MOVIECDC_CRASH_AT is set).

``MOVIECDC_CRASH_AT=<point>:<n>`` kills the process with SIGKILL the n-th time it
reaches the named point (``*`` matches any point) — no cleanup, no flush, as a power
cut or an OOM kill would. The points sit where a crash is most dangerous: between a
write and its commit, and between a commit and the bookkeeping after it.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("MOVIECDC_CRASH_AT", "")
_POINT, _, _COUNT = _SPEC.partition(":")
_LEFT = int(_COUNT) if _COUNT.isdigit() else 0


def hit(point: str) -> None:
    """Mark a crash point; dies here when the injected fault says so."""
    global _LEFT
    if not _LEFT or (_POINT != "*" and point != _POINT):
        return
    _LEFT -= 1
    if _LEFT == 0:
        os.kill(os.getpid(), signal.SIGKILL)
