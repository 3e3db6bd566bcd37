"""``translkit demo``'s HTTP API without a browser: translation, limits, refusals, the
queue, hosts, the CLI (missing extra, Ctrl-C). Servers listen on 127.0.0.1 only."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from demo_support import (
    decode,
    error_of,
    http,
    png_bytes,
    serving,
    start_demo,
    stop_process,
    tiny_checkpoint,
    tiny_run_dir,
)
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.demo.model import load_demo_model, load_examples
from translkit.demo.server import Limits, create_app, header_size, is_loopback, run_demo
from translkit.inference import Translator

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    run = tiny_run_dir(tmp_path_factory.mktemp("demo-model"))
    translators, info = load_demo_model(run, get_registry(), device="cpu")
    return translators, info, load_examples(run, list(translators))


@pytest.fixture(scope="module")
def url(model) -> str:
    translators, info, examples = model
    limits = Limits(max_bytes=200_000, max_pixels=120 * 100, max_queue=8)
    with serving(create_app(translators, info, examples=examples, limits=limits)) as base:
        yield base


def test_the_page_and_its_assets_are_served_with_a_strict_policy(url: str) -> None:
    status, headers, body = http(url)
    assert status == 200 and b'<select id="direction">' in body
    assert "default-src 'self'" in headers["content-security-policy"]
    for asset, kind in (("demo.js", "javascript"), ("demo.css", "css")):
        status, headers, body = http(url + asset)
        assert status == 200 and kind in headers["content-type"] and body
    assert b"http" not in http(url + "demo.js")[2]  # no CDN, no other server


def test_info_describes_the_model_limits_and_examples(url: str) -> None:
    status, _, body = http(url + "api/info")
    info = json.loads(body)
    assert status == 200
    assert info["model"]["directions"] == ["a2b", "b2a"]
    assert info["model"]["name"] == "tiny-run" and info["model"]["method"] == "cyclegan"
    assert info["limits"] == {"max_bytes": 200_000, "max_pixels": 12_000, "max_queue": 8}
    assert info["examples"] == {"a2b": 3, "b2a": 2}
    status, headers, body = http(url + "api/examples/b2a/1")
    assert status == 200 and headers["content-type"] == "image/png"
    assert decode(body).size == (32, 40)
    assert http(url + "api/examples/b2a/2")[0] == 404
    assert http(url + "api/examples/..%2F..%2Fetc%2Fpasswd/0")[0] == 404


def test_a_non_square_image_comes_back_at_its_size_and_translated(url: str) -> None:
    sent = png_bytes(53, 37)
    status, headers, body = http(url + "api/translate/a2b", sent)
    assert status == 200 and headers["content-type"] == "image/png"
    assert headers["x-translkit-size"] == "53x37" and float(headers["x-translkit-seconds"]) > 0
    out = decode(body)
    assert out.size == (53, 37)
    assert not np.array_equal(np.asarray(out), np.asarray(decode(sent)))
    b2a = decode(http(url + "api/translate/b2a", sent)[2])
    assert not np.array_equal(np.asarray(out), np.asarray(b2a))  # two different generators


def test_exif_orientation_is_applied_like_translkit_translate(url: str) -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40×30, shown 30×40
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    status, _, body = http(url + "api/translate/a2b", buf.getvalue())
    assert status == 200 and decode(body).size == (30, 40)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"just some text\n", 415, "not an image the demo can read"),
        (b"", 400, "the upload is empty"),
        (png_bytes(53, 37)[:200], 422, "the uploaded file is unreadable or truncated"),
        (png_bytes(130, 100), 413, r"130×100 \(0.0 MP\), over the demo's limit"),
        (b"\0" * 200_001, 413, "larger than the demo's limit of 0.2 MiB"),
    ],
    ids=["text", "empty", "truncated", "too-many-pixels", "too-many-bytes"],
)
def test_bad_uploads_are_refused_with_a_json_error(
    url: str, data: bytes, status: int, message: str
) -> None:
    got, headers, body = http(url + "api/translate/a2b", data)
    assert got == status and headers["content-type"] == "application/json"
    assert re.search(message, error_of(body)), error_of(body)


def test_unknown_directions_and_hosts_are_refused(url: str) -> None:
    status, _, body = http(url + "api/translate/c2d", png_bytes(8, 8))
    assert status == 404 and "has no c2d direction (it has a2b, b2a)" in error_of(body)
    assert http(url + "api/translate/a2b")[0] == 405  # GET
    status, _, body = http(url + "api/info", headers={"Host": "attacker.example"})
    assert status == 400 and b"Invalid host" in body  # DNS-rebinding guard on loopback


class _Slow(nn.Module):
    """Identity that takes a while and records how many forwards overlap."""

    size_multiple = 1
    lock = threading.Lock()
    active = peak = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _Slow.lock:
            _Slow.active += 1
            _Slow.peak = max(_Slow.peak, _Slow.active)
        time.sleep(0.4)
        with _Slow.lock:
            _Slow.active -= 1
        return x


def _slow_app(max_queue: int):
    _Slow.active = _Slow.peak = 0
    translator = Translator(_Slow(), device="cpu", optimize=False)
    return create_app({"a2b": translator}, {"name": "slow"}, limits=Limits(max_queue=max_queue))


def test_concurrent_uploads_queue_one_translation_at_a_time() -> None:
    with serving(_slow_app(max_queue=8)) as base, ThreadPoolExecutor(4) as pool:
        sent = [png_bytes(16, 12, seed=i) for i in range(4)]
        results = list(pool.map(lambda d: http(base + "api/translate/a2b", d), sent))
    assert [r[0] for r in results] == [200] * 4
    assert _Slow.peak == 1  # never two translations at once
    for data, (_, _, body) in zip(sent, results, strict=True):  # each got its own image back
        assert np.array_equal(np.asarray(decode(body)), np.asarray(decode(data)))


def test_a_full_queue_answers_busy() -> None:
    with serving(_slow_app(max_queue=1)) as base, ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: http(base + "api/translate/a2b", png_bytes(8, 8)), range(4))
        )
    statuses = sorted(r[0] for r in results)
    assert statuses[0] == 200 and statuses[-1] == 503
    busy = next(r for r in results if r[0] == 503)
    assert "the demo is busy" in error_of(busy[2])
    assert busy[1]["retry-after"] == "1"  # when to try again


class _Broken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("out of memory (simulated)\nmore detail")


class _Odd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("a generator's own bug")


def test_a_failing_translation_is_reported_as_json_not_a_bare_500() -> None:
    translator = Translator(_Broken(), device="cpu", optimize=False)
    with serving(create_app({"a2b": translator}, {"name": "broken"})) as base:
        status, headers, body = http(base + "api/translate/a2b", png_bytes(8, 8))
        assert status == 500 and headers["content-type"] == "application/json"
        assert error_of(body) == "translation failed: out of memory (simulated)"
        assert http(base + "api/info")[0] == 200  # and the server goes on
    odd = Translator(_Odd(), device="cpu", optimize=False)  # any exception type
    with serving(create_app({"a2b": odd}, {"name": "odd"})) as base:
        status, headers, body = http(base + "api/translate/a2b", png_bytes(8, 8))
        assert status == 500 and error_of(body) == "translation failed: a generator's own bug"


def test_header_size_refuses_before_decoding() -> None:
    assert header_size(png_bytes(20, 10), 200) == (20, 10)
    with pytest.raises(Exception, match="over the demo's limit"):
        header_size(png_bytes(20, 11), 200)


def test_other_hosts_are_served_only_when_asked_and_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.7")
    seen: dict = {}

    def fake_serve(app, host, port, *, on_ready):  # records instead of listening
        seen.update(app=app, host=host)
        on_ready(f"http://{host}:{port}/")

    monkeypatch.setattr("translkit.demo.server.serve", fake_serve)
    lines: list[str] = []
    ckpt = tiny_checkpoint(tmp_path)
    run_demo(ckpt, get_registry(), device="cpu", echo=lines.append, warn=lines.append)
    assert not any("warning" in line for line in lines) and seen["host"] == "127.0.0.1"
    run_demo(
        ckpt, get_registry(), host="0.0.0.0", device="cpu", echo=lines.append, warn=lines.append
    )
    assert any("warning: listening on 0.0.0.0" in line for line in lines)
    assert seen["host"] == "0.0.0.0"


def test_cli_without_the_demo_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)  # import starlette → ImportError
    result = runner.invoke(app, ["demo", str(tiny_checkpoint(tmp_path))])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'translkit[demo]'" in lines[0]
    assert "Traceback" not in result.output
    exported = runner.invoke(
        app, ["demo", str(tmp_path / "tiny.pt"), "--export", str(tmp_path / "app")]
    )
    assert exported.exit_code == 0 and (tmp_path / "app" / "app.py").is_file()  # no extra needed


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path / "missing.pt")])
    assert result.exit_code == 1 and "does not exist" in result.output
    result = runner.invoke(app, ["demo", str(tiny_checkpoint(tmp_path)), "-d", "x2y"])
    assert result.exit_code == 1 and "must be one of a2b, b2a" in result.output


@pytest.mark.slow
def test_the_cli_serves_on_a_free_port_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    proc, base = start_demo(str(tiny_checkpoint(tmp_path)), "--device", "cpu")
    try:
        assert base.startswith("http://127.0.0.1:")
        status, _, body = http(base + "api/translate/b2a", png_bytes(33, 21))
        assert status == 200 and decode(body).size == (33, 21)
    finally:
        code, out, err = stop_process(proc)
    assert code == 0, err
    assert "translkit demo: stopped" in out and "Traceback" not in err
