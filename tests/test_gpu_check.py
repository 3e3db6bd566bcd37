"""benchmarks/gpu_check.py's rehearsal: the GPU check runs end to end on the CPU, so the
script is known to work before the rare day a GPU is lent (docs/training.md, "On a GPU")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"

pytestmark = pytest.mark.slow

#: Every section of the check, and the checks that must have run (not skipped) in it.
EXPECTED = {
    "train step": {'precision = "auto" picks', "fp32 eager", "fp32 channels_last"},
    "loader": {"32 px, 1 workers"},
    "ddp": {"1-process torchrun (gloo), epoch 1", "resume under torchrun, epoch 2"},
    "translate": {"device fp32 against the CPU"},
    "export": {"ONNX in onnxruntime against torch on the device"},
    "demo": {"one upload translated on cpu"},
    "compile": {"fp32 compile"},
}
#: Judged only where an AMP mode ran: a CPU without native bf16/fp16 units (an AVX2-only
#: one, or the AVX2 emulation) refuses those modes, and the target row then says so.
TARGET = "AMP ≥ 2.5× plain fp32 per step"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("gpu_check")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rehearsal", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=540,
        cwd=ROOT,
    )
    return done, out


def test_rehearsal_runs_every_section_and_fails_none(rehearsal):
    done, out = rehearsal
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((out / "gpu_check.json").read_text())
    assert record["header"]["rehearsal"] is True and record["header"]["device"] == "cpu"
    rows = record["rows"]
    assert not [r for r in rows if r["status"] == "failed"]
    ran = {(r["section"], r["name"]) for r in rows if r["status"] == "ok"}
    for section, names in EXPECTED.items():
        for name in names:
            assert (section, name) in ran, (section, name, [r["name"] for r in rows])
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert all(r["note"] for r in skipped), "a skipped check says why"
    target = next(r for r in rows if r["section"] == "target" and r["name"] == TARGET)
    amp_ran = any(
        ("bf16" in r["name"] or "fp16" in r["name"]) and r["status"] == "ok" for r in rows
    )
    assert target["status"] == ("ok" if amp_ran else "skipped"), target


def test_steps_are_measured_against_plain_fp32(rehearsal):
    _, out = rehearsal
    rows = {r["name"]: r for r in json.loads((out / "gpu_check.json").read_text())["rows"]}
    base = rows["fp32 eager"]["values"]
    assert base["s_per_step"] > 0 and base["x_fp32"] == 1.0 and base["precision"] == "fp32"
    compiled = rows["fp32 compile"]["values"]
    assert compiled["x_fp32"] == pytest.approx(  # the table rounds it to 2 decimals
        base["s_per_step"] / compiled["s_per_step"], rel=0.02, abs=0.005
    )
    assert rows["one upload translated on cpu"]["values"]["status"] == 200
    assert rows["device fp32 against the CPU"]["values"]["max_levels"] == 0  # the same CPU
    target = rows["AMP ≥ 2.5× plain fp32 per step"]
    assert "not judged in a rehearsal" in target["note"] or target["status"] == "skipped"


def test_table_and_logs_are_written(rehearsal):
    done, out = rehearsal
    table = (out / "gpu_check.md").read_text()
    assert table.startswith("# translkit GPU check") and "| train step | fp32 eager | ok |" in table
    assert "**torch**" in table and "**cpu**" in table
    assert {"ddp.log", "ddp_resume.log", "cuda_tests.log"} <= {p.name for p in out.iterdir()}
    assert not (out / "work").exists(), "data and runs stay out of --out (a few small files)"
    assert "checks: 0 failed" in done.stdout
    log = (out / "cuda_tests.log").read_text()  # the suite's gpu-marked tests, skipped here
    assert "test_components_gpu.py" in log and "skipped" in log and "failed" not in log


def test_without_cuda_and_without_rehearsal_it_says_what_to_do(tmp_path: Path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2 and "use --rehearsal" in done.stderr
    assert not list(tmp_path.iterdir())
