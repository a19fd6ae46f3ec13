"""What the statement handlers share."""

from __future__ import annotations

from moviecdc.results import Rows

OK = "Statement executed successfully."


def ok(message: str = OK) -> Rows:
    return Rows(columns=["status"], rows=[(message,)], message=message)
