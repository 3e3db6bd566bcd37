"""Headless Chromium for the browser tests (skipped where it is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium without anything that talks to the network on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot(page: Path, tmp_path: Path, size: tuple[int, int] = (1000, 1400)) -> np.ndarray:
    """Render the local HTML ``page`` in headless Chromium; the screenshot's pixels (float)."""
    shot = tmp_path / "shot.png"
    cmd = [
        CHROMIUM,
        *CHROMIUM_ARGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={size[0]},{size[1]}",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=False, capture_output=True, timeout=120)
    assert shot.is_file(), "Chromium wrote no screenshot"
    return np.asarray(Image.open(shot).convert("RGB")).astype(float)
