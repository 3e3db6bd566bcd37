"""Packaging: the wheel ships every module and data file of the core and the built-ins, and
every built-in plugin module is an entry point of the `translkit` group."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "translkit": ROOT / "translkit",
    "translkit_plugins": ROOT / "plugins" / "translkit_plugins",
}


def _registers(path: Path) -> bool:
    """Whether a module defines a top-level ``translkit_register`` hook implementation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.FunctionDef) and n.name == "translkit_register" for n in tree.body)


def test_every_builtin_plugin_module_is_an_installed_entry_point() -> None:
    eps = [e for e in metadata.entry_points(group="translkit") if e.dist.name == "translkit"]
    installed = {e.value for e in eps}
    on_disk = {
        "translkit_plugins." + p.stem
        for p in PACKAGES["translkit_plugins"].glob("*.py")
        if _registers(p)
    }
    assert on_disk and installed == on_disk
    assert all(e.name.startswith("translkit.") for e in eps)


@pytest.mark.slow
def test_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("translkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = f"{package}/{path.relative_to(folder).as_posix()}"
                assert rel in names, f"{rel} is missing from the wheel"
    assert not any(n.startswith(("tests/", "plugins/", "docs/")) for n in names)


def test_torch_is_not_pinned_above_the_local_builds() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("torch>") and "<=2.14.1" in d for d in deps)
    assert any(d.startswith("torchvision") and "<=0.29.1" in d for d in deps)
