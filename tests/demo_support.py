"""Helpers shared by the demo tests: tiny models, a server in a thread or a subprocess,
and plain HTTP calls (urllib; nothing leaves 127.0.0.1)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scoring_support import generators_checkpoint, make_run_dir, write_images

ROOT = Path(__file__).resolve().parents[1]


def tiny_checkpoint(tmp_path: Path) -> Path:
    """A generators file: two ResNet-6 generators with 4 filters (fast at 32–64 px)."""
    return generators_checkpoint(tmp_path / "tiny.pt", "resnet_6blocks", ngf=4)


def tiny_run_dir(tmp_path: Path) -> Path:
    """A run directory (training format ``latest.pt``) whose data has test images."""
    data = tmp_path / "data"
    write_images(data / "testA", 3, (40, 32), seed=1)
    write_images(data / "testB", 2, (32, 40), seed=2, bias=60)
    return make_run_dir(tmp_path / "runs" / "tiny-run", data)


def png_bytes(width: int, height: int, *, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def http(
    url: str, data: bytes | None = None, *, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def error_of(body: bytes) -> str:
    return json.loads(body)["error"]


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yield its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONUNBUFFERED", None)  # the URL line must be flushed by the demo itself
    env.pop("TRANSLKIT_BLOCK_PLUGINS", None)
    return env


def start_process(args: list[str], *, cwd: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``args`` (a demo that prints ``... at http://...``); return it and its URL."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd
    )
    deadline = time.monotonic() + 180
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if " at http://" in line:
                return proc, line.rsplit(" at ", 1)[1].strip()
    stop_process(proc)
    raise AssertionError(f"the demo did not start: {line!r} {proc.stderr.read()!r}")  # type: ignore[union-attr]


def start_demo(*args: str) -> tuple[subprocess.Popen, str]:
    """``translkit demo ARGS --port 0`` in a subprocess; return it and its URL."""
    return start_process([sys.executable, "-m", "translkit", "demo", *args, "--port", "0"])


def stop_process(proc: subprocess.Popen, *, timeout: float = 60) -> tuple[int, str, str]:
    """Ctrl-C (SIGINT) and wait: ``(exit code, stdout, stderr)``; killed if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return -9, out, err
    return proc.returncode, out, err
