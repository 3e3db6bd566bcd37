"""Load test of ``translkit demo``: many clients dropping good, bad and oversized files at once.

    python benchmarks/demo_load.py                     # 50 clients for 60 s
    python benchmarks/demo_load.py --clients 10 --seconds 10

Starts ``translkit demo`` (a subprocess, as a user runs it) on 127.0.0.1 at a free port
with a tiny generator (ResNet-6, 4 filters), then runs ``--clients`` concurrent clients
for ``--seconds``. Each client loops: pick an upload from a fixed mix — valid PNG, JPEG
and WebP images of several sizes up to the pixel limit, files that are not images,
truncated and bit-flipped images, uploads over the byte limit, small files declaring
huge dimensions (decompression bombs), empty bodies, an unknown direction — send it,
check the answer, repeat.

An answer passes when it is the translation (a PNG of the sent size) or a deliberate
refusal: a 4xx with a JSON ``{"error": ...}``, or "busy" (503 with ``Retry-After``).
Anything else fails the run: a 5xx, a malformed answer, a dropped connection, or no
answer within the client timeout. Before the storm a normal request is translated and
the server's RSS read (``/proc``); after it the same request must give the same bytes
and the RSS must be back within 10 % of the level before. The server's peak RSS
(``VmHWM``) is reported.

The clients are plain asyncio streams speaking HTTP/1.1 (no third-party load generator:
Locust would pull gevent into the dev tools, and an HTTP library would hide the one event
that matters here, a connection the server dropped, behind its own retries and pooling).
One connection per request, as a browser opening a fresh one would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.artifacts import GENERATORS_FORMAT, save_checkpoint  # noqa: E402
from translkit.precision import cpu_info  # noqa: E402

MAX_UPLOAD_MB = 1.0
MAX_PIXELS = 256 * 256
MAX_QUEUE = 8


@dataclass(frozen=True)
class Upload:
    kind: str  # what the mix calls it ("valid", "not an image", "over bytes", ...)
    body: bytes
    size: tuple[int, int] | None = None  # (w, h) of a valid image: the answer must match
    direction: str = "a2b"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    ok_latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def upload_mix(max_bytes: int, max_pixels: int, seed: int = 0) -> list[Upload]:
    """The fixed set of uploads clients draw from (valid images weighted up)."""
    rng = np.random.default_rng(seed)
    side = int(max_pixels**0.5)
    sizes = [(16, 16), (48, 32), (64, 64), (100, 60), (128, 96), (side, side)]
    mix: list[Upload] = []
    for w, h in sizes:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        mix.append(Upload("valid png", _encode(img, "PNG"), (w, h)))
        mix.append(Upload("valid jpeg", _encode(img, "JPEG", quality=90), (w, h)))
        mix.append(Upload("valid webp", _encode(img, "WEBP"), (w, h), direction="b2a"))
    png = mix[4].body
    flipped = bytearray(
        _encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), np.uint8)), "JPEG")
    )
    for i in rng.integers(200, len(flipped), 40):
        flipped[i] ^= 0xFF
    bomb = _encode(Image.new("L", (20_000, 20_000)), "PNG")  # ~400 MP declared, ~60 KB sent
    mix += [
        Upload("not an image", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()),
        Upload("not an image", b"<html>hello</html>"),
        Upload("truncated", png[: len(png) // 2]),
        Upload("bit-flipped", bytes(flipped)),
        Upload("over bytes", rng.integers(0, 256, int(max_bytes * 1.5), dtype=np.uint8).tobytes()),
        Upload("over pixels", bomb),
        Upload("empty", b""),
        Upload("no such direction", png, direction="x2y"),
    ]
    return mix


def _request(upload: Upload) -> bytes:
    head = (
        f"POST /api/translate/{upload.direction} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(upload.body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + upload.body


async def _exchange(host: str, port: int, upload: Upload) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_request(upload))
        # the server may answer early (413, busy) and stop reading: read its answer anyway
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed without an answer")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def judge(upload: Upload, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """``None`` when the answer is a translation or a deliberate refusal, else why not."""
    if status == 200:
        if upload.size is None and upload.kind != "bit-flipped":  # a damaged JPEG may decode
            return f"{upload.kind}: answered 200"
        try:
            got = Image.open(io.BytesIO(body)).size
        except Exception as err:
            return f"{upload.kind}: 200 whose body is not an image ({err})"
        return (
            None if got == (upload.size or got) else f"{upload.kind}: sent {upload.size}, got {got}"
        )
    if status >= 500 and not (status == 503 and headers.get("retry-after", "").isdigit()):
        return f"{upload.kind}: {status} {body[:120]!r}"
    try:
        message = json.loads(body)["error"]
    except Exception:
        return f"{upload.kind}: {status} without a JSON error ({body[:80]!r})"
    return None if isinstance(message, str) and message else f"{upload.kind}: empty error"


async def _client(
    host: str, port: int, mix: list[Upload], until: float, seed: int, tally: Tally, timeout: float
) -> None:
    rng = random.Random(seed)
    weights = [4 if u.size else 1 for u in mix]
    while time.monotonic() < until:
        upload = rng.choices(mix, weights)[0]
        start = time.monotonic()
        try:
            status, headers, body = await asyncio.wait_for(_exchange(host, port, upload), timeout)
        except TimeoutError:
            tally.statuses["no answer"] += 1
            tally.failures.append(f"{upload.kind}: no answer within {timeout:.0f} s")
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as err:
            tally.statuses["dropped"] += 1
            tally.failures.append(f"{upload.kind}: dropped ({type(err).__name__}: {err})")
            continue
        elapsed = time.monotonic() - start
        tally.latencies.append(elapsed)
        tally.statuses[str(status)] += 1
        tally.by_kind[f"{upload.kind} → {status}"] += 1
        if status == 200:
            tally.ok_latencies.append(elapsed)
        if (problem := judge(upload, status, headers, body)) is not None:
            tally.failures.append(problem)
        elif status == 503:  # busy: wait as asked (with jitter), then go on
            await asyncio.sleep(int(headers["retry-after"]) * rng.uniform(0.5, 1.5))


def storm(
    host: str, port: int, mix: list[Upload], clients: int, seconds: float, timeout: float = 60
) -> Tally:
    tally = Tally()

    async def main() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_client(host, port, mix, until, i, tally, timeout) for i in range(clients))
        )

    asyncio.run(main())
    return tally


def _proc_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def tiny_model(folder: Path) -> Path:
    """A ``translkit.generators/1`` file: two ResNet-6 generators with 4 filters."""
    import torch

    reg = translkit.get_registry()
    specs = {}
    for i, d in enumerate(("a2b", "b2a")):
        torch.manual_seed(i)
        net = reg.generators.create("resnet_6blocks", ngf=4)
        specs[d] = {"name": "resnet_6blocks", "options": {"ngf": 4}, "state_dict": net.state_dict()}
    return save_checkpoint({"format": GENERATORS_FORMAT, "generators": specs}, folder / "tiny.pt")


def start_demo(model: Path, max_upload_mb: float, max_pixels: int, max_queue: int):
    args = [sys.executable, "-m", "translkit", "demo", str(model), "--port", "0"]
    args += ["--device", "cpu", "--precision", "fp32", "--max-upload-mb", str(max_upload_mb)]
    args += ["--max-pixels", str(max_pixels), "--max-queue", str(max_queue)]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 1.0)[0]:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if " at http://" in line:
                url = line.rsplit(" at ", 1)[1].strip()
                return proc, int(url.rstrip("/").rsplit(":", 1)[1])
    proc.kill()
    raise RuntimeError(f"the demo did not start: {proc.stderr.read()}")  # type: ignore[union-attr]


def run_load(
    clients: int = 50,
    seconds: float = 60,
    *,
    max_upload_mb: float = MAX_UPLOAD_MB,
    max_pixels: int = MAX_PIXELS,
    max_queue: int = MAX_QUEUE,
) -> dict[str, Any]:
    """Start a demo, storm it, check it afterwards; return the figures."""
    mix = upload_mix(int(max_upload_mb * 2**20), max_pixels)
    normal = next(u for u in mix if u.kind == "valid png" and u.size == (128, 96))
    with tempfile.TemporaryDirectory(prefix="translkit-load-") as tmp:
        proc, port = start_demo(tiny_model(Path(tmp)), max_upload_mb, max_pixels, max_queue)
        try:
            host = "127.0.0.1"
            warm = storm(host, port, [u for u in mix if u.size], 2, 3)  # allocator, caches
            before_answer = asyncio.run(_exchange(host, port, normal))
            rss_before = _proc_kib(proc.pid, "VmRSS")
            start = time.monotonic()
            tally = storm(host, port, mix, clients, seconds)
            wall = time.monotonic() - start
            after_answer = asyncio.run(_exchange(host, port, normal))
            time.sleep(1.0)
            rss_after = _proc_kib(proc.pid, "VmRSS")
            peak = _proc_kib(proc.pid, "VmHWM")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
    return {
        "clients": clients,
        "seconds": wall,
        "requests": len(tally.latencies),
        "statuses": dict(sorted(tally.statuses.items())),
        "by_kind": dict(sorted(tally.by_kind.items())),
        "p50": statistics.median(tally.latencies) if tally.latencies else float("nan"),
        "p95": _percentile(tally.latencies, 95),
        "ok_p50": statistics.median(tally.ok_latencies) if tally.ok_latencies else float("nan"),
        "ok_p95": _percentile(tally.ok_latencies, 95),
        "failures": tally.failures,
        "warm_failures": warm.failures,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
        "peak_rss_mib": peak / 1024,
        "after_correct": before_answer[0] == 200 and after_answer[2] == before_answer[2],
        "server_stderr": err.strip(),
        "server_exit": proc.returncode,
    }


def _percentile(values: list[float], q: int) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def table(r: dict[str, Any]) -> str:
    rows = [
        ("clients × seconds", f"{r['clients']} × {r['seconds']:.0f} s"),
        ("requests answered", f"{r['requests']} ({r['requests'] / r['seconds']:.1f}/s)"),
        ("latency p50 / p95 (all)", f"{r['p50'] * 1e3:.0f} / {r['p95'] * 1e3:.0f} ms"),
        ("latency p50 / p95 (200)", f"{r['ok_p50'] * 1e3:.0f} / {r['ok_p95'] * 1e3:.0f} ms"),
        ("answers by status", ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())),
        ("failures (5xx, malformed, dropped)", str(len(r["failures"]))),
        ("server RSS before / after", f"{r['rss_before_mib']:.0f} / {r['rss_after_mib']:.0f} MiB"),
        ("server peak RSS", f"{r['peak_rss_mib']:.0f} MiB"),
        ("after the storm: same translation", "yes" if r["after_correct"] else "NO"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines.append("by upload kind:")
    lines += [f"  {k}: {v}" for k, v in r["by_kind"].items()]
    return "\n".join(lines)


def passed(r: dict[str, Any]) -> list[str]:
    """What failed the run (empty: it passed)."""
    problems = list(r["failures"][:10]) + list(r["warm_failures"][:3])
    if not r["after_correct"]:
        problems.append("after the storm the normal request was not translated the same")
    if r["rss_after_mib"] > 1.10 * r["rss_before_mib"]:
        problems.append(
            f"RSS {r['rss_after_mib']:.0f} MiB after vs {r['rss_before_mib']:.0f} before (> 10 %)"
        )
    if r["server_exit"] != 0:
        problems.append(f"the demo exited {r['server_exit']}: {r['server_stderr'][-300:]}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB)
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS)
    parser.add_argument("--max-queue", type=int, default=MAX_QUEUE)
    args = parser.parse_args()
    print(f"CPU: {cpu_info().describe()}; {os.cpu_count()} logical CPUs")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"demo: tiny ResNet-6 (ngf 4), CPU fp32; limits {args.max_upload_mb} MiB, "
        f"{args.max_pixels} px, queue {args.max_queue}"
    )
    r = run_load(
        args.clients,
        args.seconds,
        max_upload_mb=args.max_upload_mb,
        max_pixels=args.max_pixels,
        max_queue=args.max_queue,
    )
    print(table(r))
    problems = passed(r)
    for p in problems:
        print(f"FAIL: {p}")
    print("PASS" if not problems else f"FAILED ({len(problems)} problems)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
