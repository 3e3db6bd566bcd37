"""Shared fixtures. Tests never read ../shared; they build what they need in tmp_path."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from translkit.plugin_manager import ENV_BLOCK, ENV_DISABLE_AUTOLOAD

# Keep torch to what the CI machine has and make runs repeatable.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Caches (the precision probe, feature statistics) go to a folder of this session, never ~/.cache.
_CACHE = tempfile.mkdtemp(prefix="translkit-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["TRANSLKIT_CACHE"] = _CACHE

# Fuzz tests run a fixed, derandomized set of examples (the same on every machine, no
# example database written); HYPOTHESIS_PROFILE=explore draws fresh random ones.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _isolated_plugins(monkeypatch: pytest.MonkeyPatch):
    """Each test starts with no plugin env switches."""
    monkeypatch.delenv(ENV_BLOCK, raising=False)
    monkeypatch.delenv(ENV_DISABLE_AUTOLOAD, raising=False)


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a Python module into a folder on sys.path and return its name."""
    root = tmp_path / "modules"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))

    def make(name: str, source: str) -> str:
        (root / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return make


@pytest.fixture
def make_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_module):
    """Create an installed-looking distribution (dist-info with entry points) on sys.path."""
    root = tmp_path / "modules"

    def make(dist: str, version: str, entry_name: str, module: str, source: str) -> str:
        make_module(module, source)
        info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[translkit]\n{entry_name} = {module}\n")
        return module

    return make
