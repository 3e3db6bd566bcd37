"""The one family of errors translkit raises for problems a user can fix.

The CLI prints any :class:`TranslkitError` as a single message on stderr and exits 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CheckpointError",
    "ComponentError",
    "DataError",
    "MetricError",
    "MetricUnavailable",
    "MissingComponentError",
    "OutputError",
    "PluginError",
    "RecipeError",
    "TranslkitError",
    "suggest",
]


class TranslkitError(Exception):
    """Base class of every error meant for the user, not for a traceback."""


class RecipeError(TranslkitError):
    """A recipe file, key, value or override is wrong."""


class ComponentError(TranslkitError):
    """A registry lookup or a component's options are wrong."""


class PluginError(TranslkitError):
    """A plugin failed to import or to register."""


class DataError(TranslkitError):
    """A dataset is missing, malformed or unreadable."""


class CheckpointError(TranslkitError):
    """A checkpoint is missing, corrupt, untrusted or of the wrong kind."""


class MissingComponentError(CheckpointError):
    """A file needs a component that no loaded plugin provides (the message names it, the
    plugin module it was made with, and how to load that plugin deliberately)."""


class MetricError(TranslkitError):
    """A metric could not be computed from the inputs given (too few images, no truth...)."""


class MetricUnavailable(MetricError):
    """A metric cannot run on this machine as it is set up — its network's weights are not
    here and cannot be downloaded, a plugin it needs is not loaded, ... A metric's
    ``prepare`` raises it; ``translkit score`` then skips that metric with one line saying
    why (unless the user named it with ``-m``, when it is the error)."""


class OutputError(TranslkitError):
    """A file or folder cannot be written: disk full, permission denied, a directory in
    the way, ... (raised by :mod:`translkit.fileio`, which every writer goes through)."""


def suggest(word: str, choices: Iterable[str], *, n: int = 3) -> str:
    """Return ``" (did you mean 'x'?)"`` for close matches of ``word``, else ``""``."""
    matches = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"
