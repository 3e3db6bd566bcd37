"""Training entry point of one distributed worker (started by :func:`distributed.launch`).

``python -m translkit.training.worker RESOLVED_RECIPE --source ORIGINAL [--resume X]
[--overwrite]``: reads the resolved recipe the launcher wrote, loads the plugins it names
(the user's own recipe named them), and trains this process's share.
"""

from __future__ import annotations

import argparse
import os
import sys

from translkit.errors import TranslkitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="translkit.training.worker")
    parser.add_argument("recipe")
    parser.add_argument("--source", default=None)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    from translkit.plugin_manager import load_plugins
    from translkit.recipe import load_recipe, resolve_recipe
    from translkit.training import train

    try:
        recipe = load_recipe(args.recipe)
        plugins = load_plugins(recipe.plugins)
        recipe = resolve_recipe(recipe, plugins.registries)
        if args.source:
            recipe.source = args.source
        result = train(
            recipe,
            registries=plugins.registries,
            plugins=plugins,
            resume=args.resume,
            overwrite=args.overwrite,
        )
    except TranslkitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except RuntimeError as err:  # torch's DistBackendError is one
        if not _peer_lost(err):
            raise
        first = " ".join(str(err).split("This is typically")[0].split())
        print(
            f"error: rank {os.environ.get('RANK', '?')}: another process of this run stopped "
            f"({first}); this one stops too. Continue the run with --resume",
            file=sys.stderr,
        )
        return 1
    del result  # an interrupted run exits 0 too: rank 0's summary.json records the signal
    return 0


def _peer_lost(err: BaseException) -> bool:
    """Whether ``err`` (or what it was raised while handling) is a collective failing
    because another worker died: the process group's sockets closed under it."""
    seen: BaseException | None = err
    while seen is not None:
        text = str(seen)
        if "Connection closed by peer" in text or "Connection reset by peer" in text:
            return True
        seen = seen.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
