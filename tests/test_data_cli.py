"""`translkit data synth` (and the group's help) through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from translkit.cli import app
from translkit.data import synthetic


def test_synth_passes_its_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(synthetic, "make_synthetic", lambda out, **kw: calls.append((out, kw)))
    args = [
        "data",
        "synth",
        str(tmp_path / "o"),
        "--size",
        "32",
        "--train",
        "5",
        "--test",
        "2",
        "--seed",
        "9",
        "--workers",
        "1",
        "--overwrite",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert calls == [
        (
            tmp_path / "o",
            {
                "size": 32,
                "train": 5,
                "test": 2,
                "seed": 9,
                "overwrite": True,
                "workers": 1,
                "domain_b": "denim",  # the default (--domain-b recolor: test_data_recolor.py)
            },
        )
    ]
    assert "trainA/trainB 5 each" in res.output


def test_synth_writes_a_dataset_and_refuses_to_clobber_it(tmp_path: Path) -> None:
    out = tmp_path / "syn"
    runner = CliRunner()
    res = runner.invoke(
        app, ["data", "synth", str(out), "--size", "32", "--train", "2", "--test", "1"]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "testB_truth").iterdir()) == ["000000.png"]
    again = runner.invoke(app, ["data", "synth", str(out), "--size", "32", "--train", "2"])
    assert again.exit_code == 1 and "already exists" in again.output
    check = runner.invoke(app, ["data", "check", str(out), "--crop-size", "32"])
    assert check.exit_code == 0 and "OK: trainable" in check.output


def test_data_help_lists_the_commands() -> None:
    res = CliRunner().invoke(app, ["data", "--help"])
    assert res.exit_code == 0
    for cmd in ("synth", "deepfashion", "check"):
        assert cmd in res.output
