"""``translkit demo --export DIR``: a self-contained demo app folder.

The folder holds ``app.py`` (serves the same page as ``translkit demo``), ``model.json``
(what the page shows about the model), the generators as ``a2b``/``b2a.safetensors``
(written by :func:`translkit.inference.export.export_generator`), ``requirements.txt``,
a ``Dockerfile`` and a ``README.md`` whose front matter makes it a Hugging Face Space
(Docker SDK, port 7860). It is built in a staging folder and renamed into place.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from translkit import __version__
from translkit.artifacts import DemoApp, Generators
from translkit.data.io import move_into_place, refuse_to_clobber, staged_dir
from translkit.demo.model import (
    APP_MODEL_FILE,
    choose_directions,
    describe,
    load_examples,
)
from translkit.errors import TranslkitError
from translkit.fileio import write_text_atomic
from translkit.inference.export import export_generator
from translkit.inference.files import check_resize
from translkit.plugin_manager import BUILTIN_DISTRIBUTION, ENTRY_POINT_GROUP
from translkit.pretrained import load_generators
from translkit.registry import Registries

__all__ = ["SPACE_PORT", "export_demo"]

#: The port a Hugging Face Space expects a Docker app on.
SPACE_PORT = 7860

_APP = '''\
"""A translkit demo app, written by `translkit demo --export` (translkit {version}).

Run it with `python app.py` (http://127.0.0.1:{port}/); `--host 0.0.0.0` serves other
machines too, as the Dockerfile does for a Hugging Face Space.
"""

import argparse
import sys
from pathlib import Path

import translkit
from translkit.demo.server import Limits, run_demo

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default={port}, help="port (0: any free port)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--tile", type=int, default=1024, help="tile side for large images")
    parser.add_argument("--max-pixels", type=int, default=Limits.max_pixels)
    args = parser.parse_args()
    try:
        run_demo(
            HERE,
            translkit.get_registry(),
            host=args.host,
            port=args.port,
            device=args.device,
            tile=args.tile,
            limits=Limits(max_pixels=args.max_pixels),
        )
    except translkit.TranslkitError as err:
        sys.exit(f"error: {{err}}")


if __name__ == "__main__":
    main()
'''

_DOCKERFILE = """\
FROM python:3.11-slim
RUN useradd -m -u 1000 user
USER user
ENV PATH="/home/user/.local/bin:$PATH"
WORKDIR /home/user/app
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=user . .
EXPOSE {port}
CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "{port}"]
"""

_README = """\
---
title: {title}
emoji: 🧥
colorFrom: blue
colorTo: indigo
sdk: docker
app_port: {port}
pinned: false
---

# {name}: a translkit demo

{method} generators ({generator}) translating {directions}, exported from
`{checkpoint}`{epoch} by `translkit demo --export` (translkit {version}).

- Run here: `pip install -r requirements.txt && python app.py`, then open
  http://127.0.0.1:{port}/.
- Publish as a Hugging Face Space: push this folder to a Space repository; the front
  matter above selects the Docker SDK and the Dockerfile serves the app on port {port}.
- Files: `app.py` (the server), `model.json` (what the page shows), `*.safetensors`
  (the generators' weights, with their name and options in the header), `examples/`
  (when exported with `--examples`).

translkit is not published on PyPI: before installing, point the `translkit[demo]` line
of `requirements.txt` at a wheel (`pip wheel /path/to/translkit --no-deps`) or a
repository you can reach.
"""


def export_demo(
    source: str | Path,
    out: str | Path,
    registries: Registries,
    *,
    directions: list[str] | tuple[str, ...] = (),
    overwrite: bool = False,
    examples: bool = False,
    resize: int | None = None,
) -> Path:
    """Write a demo app folder for ``source`` (a checkpoint, run directory or
    registered model name) to ``out``.

    :param registries: where the generators' names are checked (and their plugin's
        distribution found for ``requirements.txt``); nothing is imported.
    :param overwrite: replace an existing non-empty ``out`` (refused otherwise).
    :param examples: copy a few test images of a run directory into ``examples/``.
    :param resize: the app scales uploads down to this shorter side (``None``: a
        registered model's ``input_size``, else 0).
    :returns: ``out``.
    """
    source, out = Path(source), Path(out)
    if (source / APP_MODEL_FILE).is_file():
        raise TranslkitError(f"{source} is already an exported demo app; copy the folder instead")
    refuse_to_clobber(out, overwrite)
    loaded: Generators = load_generators(source, registries)
    chosen = choose_directions(loaded.nets, directions, loaded.source)
    info = describe(loaded)
    info["resize"] = loaded.card.input_size if resize is None else resize
    check_resize(info["resize"])
    names = {info["generator"]} if loaded.nets else set()
    requirements = _requirements(registries, names)
    origin = source if loaded.info.get("model") else loaded.source  # a model: one file each
    with staged_dir(out) as tmp:
        for direction in chosen:
            export_generator(
                origin,
                tmp / f"{direction}.safetensors",
                registries,
                format="safetensors",
                direction=direction,
            )
        DemoApp(translkit=__version__, info=info).save(tmp / APP_MODEL_FILE)
        write_text_atomic(tmp / "app.py", _APP.format(version=__version__, port=SPACE_PORT))
        write_text_atomic(tmp / "requirements.txt", requirements)
        write_text_atomic(tmp / "Dockerfile", _DOCKERFILE.format(port=SPACE_PORT))
        terms = loaded.info.get("terms")  # a pretrained model's terms travel with it
        extra = f"\n## Terms of use\n\n{terms}\n" if terms else ""
        write_text_atomic(tmp / "README.md", _readme(info, chosen) + extra)
        if examples:
            _write_examples(source, chosen, tmp / "examples")
        move_into_place(tmp, out)
    return out


def _readme(info: dict[str, Any], directions: list[str]) -> str:
    epoch = f" (epoch {info['epoch']})" if info.get("epoch") is not None else ""
    return _README.format(
        title=json.dumps(f"{info['name']} (translkit demo)", ensure_ascii=False),
        name=info["name"],
        method=info["method"],
        generator=info["generator"],
        directions=" and ".join(directions),
        checkpoint=info["checkpoint"],
        epoch=epoch,
        version=__version__,
        port=SPACE_PORT,
    )


def _requirements(registries: Registries, generators: set[str]) -> str:
    """``translkit[demo]`` plus the distribution of any third-party plugin a generator needs."""
    lines = [
        "# translkit with its demo extra (Starlette, uvicorn) and its dependencies (torch, ...)",
        f"translkit[demo]=={__version__}",
    ]
    dists = {ep.name: ep.dist for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.dist}
    for name in sorted(generators):
        plugin = registries.generators.get(name).plugin
        dist = dists.get(plugin)
        if dist is not None and dist.metadata["Name"] == BUILTIN_DISTRIBUTION:
            continue
        if dist is not None:
            lines.append(f"# generator {name!r} comes from plugin {plugin!r}")
            lines.append(f"{dist.metadata['Name']}=={dist.version}")
        else:
            lines.append(
                f"# generator {name!r} comes from plugin {plugin!r}, which is no installed "
                "distribution: package it and add it here"
            )
    return "\n".join(lines) + "\n"


def _write_examples(source: Path, directions: list[str], folder: Path) -> None:
    found = load_examples(source, directions)
    for direction, images in found.items():
        for i, png in enumerate(images):
            folder.mkdir(exist_ok=True)
            (folder / f"{direction}-{i}.png").write_bytes(png)
