"""Usage counters (data points, log lines, queries, wall time...) summed over turns."""

from __future__ import annotations

from typing import Any


def add_usage(total: dict[str, Any] | None, turn: dict[str, Any]) -> dict[str, Any]:
    """``total`` plus one turn: numeric counters add up, ``turns`` counts the turns."""
    merged: dict[str, Any] = dict(total or {})
    for key, value in turn.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = merged.get(key, 0) + value
    merged["turns"] = int(merged.get("turns", 0)) + 1
    return merged
