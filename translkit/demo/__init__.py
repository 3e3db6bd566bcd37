"""``translkit demo``: try a trained model in the browser, locally or as a Space.

:mod:`translkit.demo.model` loads what the user named (checkpoint, run directory or an
exported app folder) into translators; :mod:`translkit.demo.server` serves the page
(needs the ``demo`` extra: Starlette and uvicorn); :mod:`translkit.demo.export` writes a
self-contained app folder. Importing this package needs neither Starlette nor uvicorn.
"""

from __future__ import annotations

from translkit.errors import TranslkitError

__all__ = ["DEMO_EXTRA_HINT", "require_demo_extra"]

DEMO_EXTRA_HINT = "pip install 'translkit[demo]'"


def require_demo_extra() -> None:
    """Raise a one-line :class:`TranslkitError` when Starlette or uvicorn is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise TranslkitError(
            f"translkit demo needs the optional packages Starlette and uvicorn "
            f"({err.name or err} is missing): {DEMO_EXTRA_HINT}"
        ) from None
