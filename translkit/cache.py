"""Where translkit keeps data between runs: ``$TRANSLKIT_CACHE``, else
``$XDG_CACHE_HOME/translkit``, else ``~/.cache/translkit``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """The cache folder, or a sub-folder of it (not created here)."""
    if os.environ.get("TRANSLKIT_CACHE"):
        base = Path(os.environ["TRANSLKIT_CACHE"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "translkit"
    return base.joinpath(*parts)
