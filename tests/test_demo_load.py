"""The demo under load (benchmarks/demo_load.py, short): 10 clients for 10 s sending valid
images, non-images, truncated, oversized and bomb uploads to a real `translkit demo`
process. Every answer is a translation or a deliberate refusal; nothing dropped; the
server answers correctly afterwards with its memory back where it was."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("demo_load", ROOT / "benchmarks/demo_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_short_storm_gets_only_translations_and_deliberate_refusals() -> None:
    pytest.importorskip("uvicorn")
    bench = _load_benchmark()
    result = bench.run_load(10, 10)
    assert bench.passed(result) == [], bench.table(result)
    statuses = result["statuses"]
    assert statuses.get("200", 0) > 10  # translations were served throughout
    # Refusals were exercised; which ones depends on the machine's speed: while the queue
    # is full every upload is "busy" before it is inspected (each refusal's own status is
    # checked one request at a time in tests/test_demo_server.py).
    assert any(s.startswith("4") for s in statuses)
    assert not any(s.startswith("5") and s != "503" for s in statuses)
    assert "dropped" not in statuses and "no answer" not in statuses


def test_the_judge_accepts_only_translations_and_deliberate_refusals() -> None:
    bench = _load_benchmark()
    valid = bench.Upload("valid png", bench.upload_mix(1000, 64)[0].body, (16, 16))
    png = valid.body
    assert bench.judge(valid, 200, {}, png) is None
    assert "got" in bench.judge(bench.Upload("valid png", png, (8, 8)), 200, {}, png)
    assert bench.judge(bench.Upload("not an image", b"x"), 200, {}, png) is not None
    assert bench.judge(valid, 415, {}, b'{"error": "not an image"}') is None
    assert bench.judge(valid, 422, {}, b"<html>") is not None  # a refusal must be JSON
    assert bench.judge(valid, 503, {"retry-after": "1"}, b'{"error": "busy"}') is None
    assert bench.judge(valid, 503, {}, b'{"error": "busy"}') is not None  # no Retry-After
    assert bench.judge(valid, 500, {}, b'{"error": "x"}') is not None
