"""The import graph: layers of the core import only downwards, built-in plugins import only
the public API, the core never imports a built-in, the core names no metric family, and
only translkit.artifacts reads translkit's files or handles a checkpoint's data
(docs/architecture.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layers of the core, lowest first; a module belongs to the most specific prefix listed.
LAYERS: list[tuple[str, ...]] = [
    (
        "translkit.errors",
        "translkit.augment",
        "translkit.bounds",
        "translkit.cache",
        "translkit.contracts",
        "translkit.compat",
        "translkit.directions",
        "translkit.metric_adapter",
        "translkit.registry",
        "translkit.hookspecs",
        "translkit.fileio",
        "translkit.devices",
        "translkit.norms",
        "translkit.precision",
        "translkit.threads",
    ),
    (
        "translkit",
        "translkit.plugin_manager",
        "translkit.recipe",
        "translkit.recipe_docs",
        "translkit.data",
    ),
    ("translkit.networks", "translkit.rundir", "translkit.runtime", "translkit.compile_trial"),
    ("translkit.artifacts", "translkit.pretrained"),
    ("translkit.evaluation", "translkit.importing", "translkit.inference", "translkit.testing"),
    ("translkit.scoring",),
    ("translkit.training", "translkit.report"),
    ("translkit.demo", "translkit.sweep"),
    ("translkit.cli", "translkit.__main__"),
]
#: What a plugin may import from translkit (docs/architecture.md, "The public API").
PUBLIC = {
    "translkit",
    "translkit.contracts",
    "translkit.errors",
    "translkit.registry",
    "translkit.bounds",
    "translkit.data",
    "translkit.data.io",
    "translkit.pretrained",
    "translkit.testing",
}


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every absolute ``translkit*`` module imported anywhere in the file (lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.split(".")[0] in ("translkit", "translkit_plugins")}


def _layer(module: str) -> int:
    best, depth = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = i, prefix.count(".")
    assert best >= 0, f"{module} is in no layer of LAYERS: add it (and to docs/architecture.md)"
    return best


CORE = {_module_name(p, ROOT): p for p in (ROOT / "translkit").rglob("*.py")}
PLUGINS = {_module_name(p, ROOT / "plugins"): p for p in (ROOT / "plugins").rglob("*.py")}


@pytest.mark.parametrize("module", sorted(CORE))
def test_core_imports_only_its_layer_and_below(module: str) -> None:
    mine = _layer(module)
    for dep in _imports(CORE[module]):
        assert not dep.startswith("translkit_plugins"), f"{module} imports built-in {dep}"
        assert _layer(dep) <= mine, f"{module} (layer {mine}) imports {dep} ({_layer(dep)})"


@pytest.mark.parametrize("module", sorted(PLUGINS))
def test_builtin_plugins_import_only_the_public_api(module: str) -> None:
    for dep in _imports(PLUGINS[module]):
        if dep.startswith("translkit_plugins"):
            continue
        assert dep in PUBLIC, f"{module} imports {dep}, which is not public API"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from translkit.training.engine import Engine\n")
    assert _imports(bad) == {"translkit.training.engine"}
    assert _layer("translkit.training.engine") > _layer("translkit.artifacts")
    assert "translkit.training.engine" not in PUBLIC


#: Keys that exist only in the data of a training snapshot (translkit.artifacts.snapshot).
CHECKPOINT_KEYS = {"ema_updates", "optimizers", "ranks", "schedulers", "scaler", "_path"}
#: Calls that read a torch or safetensors file (``torch.load``, ``safe_open``, ...).
FILE_READERS = {"load", "load_file", "safe_open", "load_checkpoint", "load_weights_only"}
_FILE_MODULES = {"torch", "safetensors", "safetensors.torch", "translkit.artifacts"}


def _checkpoint_handling(tree: ast.AST) -> list[str]:
    """Where a module reads a model file or touches a checkpoint's data: a call of a file
    reader through ``torch``/``safetensors``/the artifacts (``torch.load(...)``, or a name
    imported from them), or a checkpoint key as a subscript, ``.get``/``.pop`` argument or
    dict literal key."""
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in _FILE_MODULES
        for alias in node.names
        if alias.name in FILE_READERS
    }
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called = ast.unparse(node.func)
            if node.func.attr in FILE_READERS and called.startswith(("torch.", "safetensors.")):
                found.append(f"line {node.lineno}: {called}()")
            if node.func.attr in ("get", "pop", "setdefault") and node.args:
                first = node.args[0]
                key = first.value if isinstance(first, ast.Constant) else None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in imported:
                found.append(f"line {node.lineno}: {node.func.id}()")
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            key = next((k for k in keys if k in CHECKPOINT_KEYS), None)
        if isinstance(key, str) and key in CHECKPOINT_KEYS:
            found.append(f"line {node.lineno}: checkpoint key {key!r}")
    return found


@pytest.mark.parametrize(
    "module", sorted(m for m in CORE if not m.startswith("translkit.artifacts"))
)
def test_only_the_artifacts_read_files_and_checkpoint_data(module: str) -> None:
    found = _checkpoint_handling(ast.parse(CORE[module].read_text(encoding="utf-8")))
    assert not found, f"{module} handles translkit files outside translkit.artifacts: {found}"


def test_the_checkpoint_rule_can_fail() -> None:
    bad = """
import torch
from safetensors.torch import load_file as lf
from translkit.artifacts import load_checkpoint
def f(path, ckpt):
    torch.load(path)
    lf(path)
    load_checkpoint(path)
    ckpt["optimizers"]
    ckpt.get("ranks")
    return {"ema_updates": 0}
"""
    found = _checkpoint_handling(ast.parse(bad))
    assert len(found) == 6, found
    fine = "def f(x, d):\n    torch.save(x, 'f')\n    return d['models'], d.get('step')\n"
    assert _checkpoint_handling(ast.parse(fine)) == []
    assert len(_checkpoint_handling(ast.parse("safetensors.torch.load_file(p)"))) == 1


#: What only a metric plugin may know: a feature extractor and its library, a baseline's
#: method, the domain metric's classifiers and its key conventions. (Names of registered
#: metrics and of their keys stay, as defaults and examples: they are configuration, like
#: the default method ``cyclegan``.)
METRIC_FAMILY = re.compile(
    r"inception|fidelity|fr[eé]chet|vgg|colou?r[ _-]transfer|domain[ _]classifier"
    r"|@real|_untrusted",
    re.IGNORECASE,
)
#: The one place old names are read, each turned into its generic replacement.
COMPATIBILITY = {"translkit.compat"}


def _metric_family_names(text: str) -> list[str]:
    return [
        f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
        for m in METRIC_FAMILY.finditer(text)
    ]


@pytest.mark.parametrize("module", sorted(set(CORE) - COMPATIBILITY))
def test_the_core_names_no_metric_family(module: str) -> None:
    """Code, strings and comments alike; the compatibility module is the one exception."""
    found = _metric_family_names(CORE[module].read_text(encoding="utf-8"))
    assert not found, f"{module} names a metric family ({', '.join(found)}): move it to a plugin"


def test_the_metric_family_check_can_fail() -> None:
    assert _metric_family_names("x = 'a2b/domain_texture_fd@real'\n# torch-fidelity") == [
        "line 1: '@real'",
        "line 2: 'fidelity'",
    ]
    assert not _metric_family_names("DEFAULT_METRICS = ('fid', 'kid', 'is')\nvalue < 0")
