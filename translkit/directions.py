"""The two translation directions and the one check of a direction's name.

Torch-free, so the command line can refuse a bad ``--direction`` before importing torch.
"""

from __future__ import annotations

__all__ = ["DIRECTIONS", "direction_problem"]

#: A → B and B → A, in the order every listing uses.
DIRECTIONS = ("a2b", "b2a")


def direction_problem(value: object, what: str = "direction") -> str | None:
    """``None`` for a valid direction, else the one message: ``"<what> must be one of a2b,
    b2a, got 'x'"`` (callers raise it as the error their layer raises)."""
    if value in DIRECTIONS:
        return None
    return f"{what} must be one of {', '.join(DIRECTIONS)}, got {value!r}"
