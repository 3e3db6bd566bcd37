"""benchmarks/conv_algorithms.py: each row times all four paths and reports Winograd's
error against the direct convolution; the table prints one row per shape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location(
        "conv_algorithms", ROOT / "benchmarks" / "conv_algorithms.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_row_times_every_path_and_measures_the_error():
    bench = _load()
    ms, error = bench.row(1, 4, 8, rounds=1)
    assert set(ms) == {"direct fwd", "winograd fwd", "direct fwd+bwd", "winograd fwd+bwd"}
    assert all(v > 0 for v in ms.values())
    assert 0 <= error < 1e-4


def test_the_table_has_a_row_per_shape(monkeypatch, capsys):
    bench = _load()
    monkeypatch.setattr(bench, "SHAPES", [(1, 4, 8, "tiny"), (2, 3, 5, "odd")])
    monkeypatch.setattr(sys, "argv", ["conv_algorithms.py", "--rounds", "1", "--threads", "1"])
    bench.main()
    out = capsys.readouterr().out
    assert out.startswith("# CPU: ")
    rows = [
        line
        for line in out.splitlines()
        if line.startswith("| ") and ("tiny" in line or "odd" in line)
    ]
    assert len(rows) == 2
