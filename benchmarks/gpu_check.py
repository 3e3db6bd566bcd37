"""GPU check: every CUDA path of translkit, measured in one command that needs no network.

    python benchmarks/gpu_check.py --out gpu_check/          # one GPU: at most 8 minutes
    python benchmarks/gpu_check.py --rehearsal --out /tmp/gc  # the CPU, tiny sizes, < 1 min

What it runs, in this order (cheap, essential checks first; ``torch.compile`` last, each
compiled mode only while the time budget allows it):

1. **train steps** of the study's model (``recipes/leather_denim.toml``: ResNet-9 with batch
   norm, the five-layer discriminator, 256 px, batch 10) on random images: plain eager fp32,
   channels_last, bf16 and fp16 autocast (fp16 with the gradient scaler): seconds per step,
   images/s and peak memory (``torch.cuda.max_memory_allocated``), each against plain eager
   fp32 in the same process, and what ``precision = "auto"`` picks on this device;
2. **loader**: the recipe's data pipeline (its workers, pinned memory) at 256 px on a
   synthetic set written at the recipe's load size, against what the fastest step consumes;
3. **ddp**: a 1-process ``torchrun`` job (NCCL on a GPU, gloo on a CPU) of the recipe, then a
   resume from its checkpoint, again under torchrun;
4. **translate / export**: a folder translated on the device and on the CPU (fp32), the
   outputs compared; an ONNX export run in onnxruntime, compared with torch on the device;
5. **demo**: the demo app answering one upload on the device;
6. **CUDA tests**: the suite's ``gpu``-marked tests (``pytest -m gpu``);
7. **compiled** train steps (``torch.compile``) in fp32 and in the AMP precisions.

It prints one table and writes it to ``--out`` as ``gpu_check.json`` and ``gpu_check.md``,
with the device, driver, CUDA and torch versions in the header, and the targets (AMP ≥ 2.5×
plain fp32 per step; the loader never the bottleneck; DDP and resume finish; translate and
export match the CPU). The exit status is 1 when a check failed (a target missed is a
measurement, not a failure).

``--rehearsal`` runs the same code on the CPU with tiny networks at 32 px, two steps a mode
and ``torch.compile``'s ``eager`` backend (dynamo traces the step, no C++ is compiled), so
that the test suite runs the script (tests/test_gpu_check.py) and it never rots between the
rare days a GPU is lent. Targets are not judged in a rehearsal.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.errors import TranslkitError  # noqa: E402
from translkit.precision import choose_precision, cpu_info  # noqa: E402
from translkit.recipe import load_recipe, resolve_recipe  # noqa: E402

RECIPE = ROOT / "recipes" / "leather_denim.toml"
#: AMP must be at least this much faster than plain eager fp32 per step (on a GPU).
AMP_TARGET = 2.5
#: fp32 translations on the device against the CPU's, in 8-bit levels (TF32 convolutions
#: on Ampere and newer change the last bits of fp32 results: cudnn.allow_tf32 is on).
PIXEL_MAX, PIXEL_MEAN = 3, 0.5
#: ONNX Runtime against torch on the device, in the generator's [-1, 1] output units.
ONNX_MAX = 1e-2


@dataclass(frozen=True)
class Mode:
    """One way to run the training step."""

    name: str
    precision: str
    channels_last: bool = False
    compile: bool = False


MODES = (
    Mode("fp32 eager", "fp32"),
    Mode("fp32 channels_last", "fp32", channels_last=True),
    Mode("bf16", "bf16"),
    Mode("bf16 channels_last", "bf16", channels_last=True),
    Mode("fp16 + scaler", "fp16"),
    Mode("fp16 + scaler channels_last", "fp16", channels_last=True),
)
COMPILED = (
    Mode("fp32 compile", "fp32", compile=True),
    Mode("bf16 channels_last compile", "bf16", channels_last=True, compile=True),
    Mode("fp16 + scaler channels_last compile", "fp16", channels_last=True, compile=True),
)


@dataclass
class Row:
    """One line of the table: a check, its status (ok, failed, skipped) and its numbers."""

    section: str
    name: str
    status: str = "ok"
    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Settings:
    """What a check measures: the real thing on a GPU, tiny sizes in a rehearsal."""

    device: torch.device
    rehearsal: bool
    size: int
    load_size: int
    batch: int
    warmup: int
    steps: int
    images: int  # per domain in the synthetic set
    overrides: tuple[str, ...]  # applied to the recipe for every check

    @classmethod
    def make(cls, rehearsal: bool, device: str) -> Settings:
        if rehearsal:
            tiny = ("generator.ngf=4", "discriminator.ndf=4", "data.num_workers=1")
            return cls(torch.device("cpu"), True, 32, 36, 2, 1, 2, 6, tiny)
        return cls(torch.device(device), False, 256, 286, 10, 3, 10, 40, ())


class Check:
    """The rows of one check run, the time budget, and where its files go."""

    def __init__(self, settings: Settings, out: Path, work: Path, budget: float) -> None:
        self.s, self.out, self.work, self.rows = settings, out, work, []
        self.deadline = time.monotonic() + budget
        self.registries = translkit.get_registry()
        self.fastest_step: tuple[str, float] | None = None
        self.run_dir: Path | None = None

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @contextmanager
    def row(self, section: str, name: str) -> Iterator[Row]:
        """A row whose status becomes ``failed`` with the error's last line if the body
        raises: one broken path never hides the rest of the table."""
        row = Row(section, name)
        start = time.perf_counter()
        try:
            yield row
        except Exception as exc:  # every failure is reported; none ends the run
            row.status = "failed"
            last = (str(exc).strip().splitlines() or [""])[-1]
            row.note = f"{type(exc).__name__}: {last}"[:300]
            traceback.print_exc(file=sys.stderr)
        row.values.setdefault("seconds", round(time.perf_counter() - start, 2))
        self.rows.append(row)
        print(_line(row), flush=True)

    def recipe(self, *extra: str) -> Any:
        overrides = [
            f"train.device={self.s.device}",
            f"data.root={self.work / 'data'}",
            f"data.load_size={self.s.load_size}",
            f"data.crop_size={self.s.size}",
            f"optim.batch_size={self.s.batch}",
            f"run.output_dir={self.work / 'runs'}",
            *self.s.overrides,
            *extra,
        ]
        return resolve_recipe(load_recipe(RECIPE, overrides), self.registries)


# -- 1 and 7: training steps -----------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def time_mode(check: Check, mode: Mode) -> dict[str, Any]:
    """Seconds per step (mean of ``steps`` after ``warmup``), images/s, peak memory."""
    from translkit.training.engine import Engine

    s = check.s
    recipe = check.recipe(
        f"train.precision={mode.precision}",
        f"train.channels_last={'on' if mode.channels_last else 'off'}",
        f"train.compile={'on' if mode.compile else 'off'}",
    )
    _free(s.device)
    torch.manual_seed(0)
    engine = Engine(recipe, s.device, check.registries)
    g = torch.Generator().manual_seed(0)
    batch = {d: (torch.rand(s.batch, 3, s.size, s.size, generator=g) * 2 - 1) for d in "AB"}
    batch = {d: x.to(s.device) for d, x in batch.items()}
    start = time.perf_counter()
    for i in range(s.warmup):
        engine.train_step(batch, step=i)
    _sync(s.device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(s.steps):
        terms = engine.train_step(batch, step=s.warmup + i)
    _sync(s.device)
    per_step = (time.perf_counter() - start) / s.steps
    losses = {k: float(v) for k, v in terms.items()}
    if not all(map(_finite, losses.values())):
        raise FloatingPointError(f"non-finite loss terms: {losses}")
    peak = torch.cuda.max_memory_allocated(s.device) / 2**20 if s.device.type == "cuda" else None
    values = {
        "s_per_step": round(per_step, 4),
        "images_per_s": round(s.batch / per_step, 2),
        "peak_MiB": None if peak is None else round(peak),
        "warmup_s": round(first, 2),
        "precision": engine.precision.name,
    }
    del engine
    _free(s.device)
    return values


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def check_steps(check: Check, modes: tuple[Mode, ...], baseline: dict[str, float]) -> None:
    for mode in modes:
        section = "compile" if mode.compile else "train step"
        if mode.compile and check.left() < (30 if check.s.rehearsal else 150):
            check.rows.append(Row(section, mode.name, "skipped", note="time budget spent"))
            print(_line(check.rows[-1]), flush=True)
            continue
        refusal = _refusal(mode.precision, check.s.device)
        if refusal:
            check.rows.append(Row(section, mode.name, "skipped", note=refusal))
            print(_line(check.rows[-1]), flush=True)
            continue
        with check.row(section, mode.name) as row:
            row.values.update(time_mode(check, mode))
            if mode.name == "fp32 eager":
                baseline["s"] = row.values["s_per_step"]
            if "s" in baseline:
                row.values["x_fp32"] = round(baseline["s"] / row.values["s_per_step"], 2)
            fastest = check.fastest_step
            if fastest is None or row.values["s_per_step"] < fastest[1]:
                check.fastest_step = (mode.name, row.values["s_per_step"])


def _refusal(precision: str, device: torch.device) -> str:
    """Why ``precision`` cannot run here ('' when it can): translkit's own refusal."""
    try:
        choose_precision(precision, device)
    except TranslkitError as exc:
        return str(exc)
    return ""


def check_auto(check: Check) -> None:
    with check.row("train step", 'precision = "auto" picks') as row:
        choice = choose_precision("auto", check.s.device)
        row.values["precision"] = choice.name
        row.note = choice.reason


def judge_amp(check: Check) -> None:
    """AMP's best speed-up over plain eager fp32, against :data:`AMP_TARGET`."""
    amp = [r for r in check.rows if r.values.get("precision") in ("bf16", "fp16")]
    ratios = [r.values["x_fp32"] for r in amp if r.status == "ok" and "x_fp32" in r.values]
    with check.row("target", f"AMP ≥ {AMP_TARGET}× plain fp32 per step") as row:
        if not ratios:
            row.status, row.note = "skipped", "no AMP mode ran here"
            return
        best = max(amp, key=lambda r: r.values.get("x_fp32", 0))
        row.values["x_fp32"] = best.values["x_fp32"]
        row.note = f"best: {best.name}; " + _verdict(
            check, row, best.values["x_fp32"] >= AMP_TARGET
        )


def _verdict(check: Check, row: Row, met: bool) -> str:
    """A target's outcome: a missed one marks its row ``missed`` (a measurement, not a
    failure of the check); a rehearsal judges nothing."""
    if check.s.rehearsal:
        return "not judged in a rehearsal"
    if not met:
        row.status = "missed"
    return "met" if met else "NOT met"


# -- 2: the data pipeline ----------------------------------------------------------------------
def make_data(check: Check) -> None:
    from translkit.data.synthetic import make_synthetic

    root = check.work / "data"
    if not (root / "trainA").is_dir():
        n = check.s.images
        make_synthetic(root, size=check.s.load_size, train=n, test=4, seed=0)


def check_loader(check: Check) -> None:
    """Images/s the recipe's loader delivers (first batch, with worker start-up, apart)."""
    from translkit.data.unpaired import build_train_loader

    recipe = check.recipe()
    pin = check.s.device.type == "cuda"
    with check.row("loader", f"{check.s.size} px, {recipe.data.num_workers} workers") as row:
        images, first, start = 0, 0.0, time.perf_counter()
        for epoch in range(3):
            loader = build_train_loader(
                recipe.data, batch_size=check.s.batch, seed=0, epoch=epoch, pin_memory=pin
            )
            row.values["workers"] = loader.num_workers
            for batch in loader:
                if not first:
                    first, start = time.perf_counter() - start, time.perf_counter()
                    continue
                batch["A"].to(check.s.device, non_blocking=True)
                images += batch["A"].shape[0]
        rate = images / max(time.perf_counter() - start, 1e-9)
        row.values.update({"images_per_s": round(rate, 1), "first_batch_s": round(first, 2)})
        row.values["pinned"] = pin
        if check.fastest_step:
            name, seconds = check.fastest_step
            need = check.s.batch / seconds
            row.values["step_needs_images_per_s"] = round(need, 1)
            row.note = f"fastest step ({name}); keeps up: " + _verdict(check, row, rate >= need)


# -- 3: DDP under torchrun and a resume ------------------------------------------------------
def _torchrun(check: Check, args: list[str], log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if check.s.device.type == "cpu":
        env["GLOO_SOCKET_IFNAME"] = "lo"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "1", "-m", "translkit", "run", *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=max(check.left(), 60)
    )
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"torchrun exited {done.returncode} (log: {log}): {' | '.join(tail)}")


def check_ddp(check: Check) -> None:
    steps_per_epoch = check.s.images // check.s.batch
    recipe = check.recipe(
        "run.name=ddp",
        "optim.epochs=2",
        f"train.max_steps={steps_per_epoch}",  # stop after epoch 1, then resume
        "train.precision=auto",
        "train.sample_every=0",
        "train.checkpoint_every=1",
        "eval.every=0",
        "eval.num_samples=0",
    )
    path = check.work / "ddp.toml"
    path.write_text(recipe.to_toml(), encoding="utf-8")
    shutil.rmtree(recipe.run_dir, ignore_errors=True)
    want = "nccl" if check.s.device.type == "cuda" else "gloo"
    with check.row("ddp", f"1-process torchrun ({want}), epoch 1") as row:
        _torchrun(check, [str(path)], check.out / "ddp.log")
        summary = json.loads((recipe.run_dir / "summary.json").read_text())
        if summary.get("process_group") != want:
            raise RuntimeError(f"process group {summary.get('process_group')!r}, not {want!r}")
        row.values.update(steps=summary["steps"], precision=summary["precision"]["name"])
        check.run_dir = recipe.run_dir
    if check.run_dir is None:
        return
    with check.row("ddp", "resume under torchrun, epoch 2") as row:
        resume = [str(recipe.run_dir), "--resume", "--set", "train.max_steps=0"]
        _torchrun(check, resume, check.out / "ddp_resume.log")
        summary = json.loads((recipe.run_dir / "summary.json").read_text())
        if not summary["finished"] or summary["steps"] != 2 * steps_per_epoch:
            raise RuntimeError(f"resume ended at step {summary['steps']}, unfinished")
        row.values["steps"] = summary["steps"]


# -- 4 and 5: translate, export, demo -----------------------------------------------------------
def _pixels(folder: Path) -> dict[str, Any]:
    import numpy as np
    from PIL import Image

    return {p.name: np.asarray(Image.open(p), dtype=np.int16) for p in sorted(folder.iterdir())}


def check_translate(check: Check) -> None:
    from translkit.inference import translate_checkpoint

    source = check.run_dir
    if source is None:
        check.rows.append(Row("translate", "folder", "skipped", note="no checkpoint: ddp failed"))
        print(_line(check.rows[-1]), flush=True)
        return
    inputs = check.work / "data" / "testA"
    outs = {}
    runs = (("device", check.s.device, "fp32"), ("cpu", "cpu", "fp32"))
    runs += (("device", check.s.device, "auto"),)
    for where, device, precision in runs:
        name = f"{where} ({torch.device(device).type}) {precision}"
        with check.row("translate", f"folder on the {name}") as row:
            out = check.work / f"translated_{where}_{precision}"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            report = translate_checkpoint(
                source, inputs, out, check.registries, device=str(device), precision=precision
            )
            seconds = time.perf_counter() - start
            if report.failed:
                raise RuntimeError(f"{len(report.failed)} images failed: {report.failed[:2]}")
            row.values.update(images=len(report.written), images_per_s=_rate(report, seconds))
            row.note = report.precision
            outs[where, precision] = _pixels(out)
    device_fp32, cpu = outs.get(("device", "fp32")), outs.get(("cpu", "fp32"))
    if device_fp32 is None or cpu is None:
        return
    with check.row("translate", "device fp32 against the CPU") as row:
        diff = [abs(device_fp32[k] - cpu[k]) for k in cpu]
        worst = max(int(d.max()) for d in diff)
        mean = sum(float(d.mean()) for d in diff) / len(diff)
        row.values.update(max_levels=worst, mean_levels=round(mean, 3))
        if worst > PIXEL_MAX or mean > PIXEL_MEAN:
            raise AssertionError(f"outputs differ by up to {worst} levels (mean {mean:.3f})")
        row.note = f"within {PIXEL_MAX} levels, mean ≤ {PIXEL_MEAN}"


def _rate(report: Any, seconds: float) -> float:
    return round(len(report.written) / max(seconds, 1e-9), 2)


def check_export(check: Check) -> None:
    import numpy as np

    from translkit import load_generators
    from translkit.inference.export import export_generator

    if check.run_dir is None:
        return
    with check.row("export", "ONNX in onnxruntime against torch on the device") as row:
        import onnxruntime

        path = export_generator(check.run_dir, check.work / "G_AB.onnx", check.registries)
        net = load_generators(check.run_dir, check.registries).nets["a2b"].float().eval()
        g = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, check.s.size, check.s.size, generator=g) * 2 - 1
        with torch.no_grad():
            want = net.to(check.s.device)(x.to(check.s.device)).float().cpu().numpy()
        providers = [
            p
            for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in onnxruntime.get_available_providers()
        ]
        session = onnxruntime.InferenceSession(str(path), providers=providers)
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        worst = float(np.abs(got - want).max())
        row.values.update(max_abs=round(worst, 5), provider=session.get_providers()[0])
        if worst > ONNX_MAX:
            raise AssertionError(f"ONNX output differs from torch by {worst:.4f}")
        row.note = f"within {ONNX_MAX}"


def check_demo(check: Check) -> None:
    import io

    from PIL import Image
    from starlette.testclient import TestClient

    from translkit.demo.model import load_demo_model
    from translkit.demo.server import create_app

    if check.run_dir is None:
        return
    with check.row("demo", f"one upload translated on {check.s.device.type}") as row:
        translators, info = load_demo_model(
            check.run_dir, check.registries, directions=["a2b"], device=str(check.s.device)
        )
        if translators["a2b"].device.type != check.s.device.type:
            raise AssertionError(f"the demo runs on {translators['a2b'].device}")
        photo = next(iter(sorted((check.work / "data" / "testA").iterdir())))
        with TestClient(create_app(translators, info), base_url="http://127.0.0.1") as client:
            start = time.perf_counter()
            answer = client.post("/api/translate/a2b", content=photo.read_bytes())
            seconds = time.perf_counter() - start
        if answer.status_code != 200:
            raise AssertionError(f"HTTP {answer.status_code}: {answer.text[:200]}")
        size = Image.open(io.BytesIO(answer.content)).size
        row.values.update(status=answer.status_code, seconds=round(seconds, 3))
        row.note = f"a {size[0]}×{size[1]} PNG back; {translators['a2b'].choice.describe()}"


# -- 6: the suite's CUDA tests ---------------------------------------------------------------
def check_cuda_tests(check: Check) -> None:
    files = sorted(
        str(p) for p in (ROOT / "tests").glob("test_*.py") if "mark.gpu" in p.read_text("utf-8")
    )
    with check.row("tests", f"pytest -m gpu ({len(files)} files)") as row:
        command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]
        command += ["--timeout=300", *files]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, timeout=max(check.left(), 120)
        )
        (check.out / "cuda_tests.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        row.values["summary"] = last.strip("= ")
        if done.returncode not in (0, 5):  # 5: nothing collected
            raise RuntimeError(f"pytest exited {done.returncode}: {last}")
        if check.s.device.type == "cuda" and "skipped" in last and "passed" not in last:
            raise RuntimeError(f"every CUDA test skipped on a GPU: {last}")


# -- the header and the table ------------------------------------------------------------------
def header(settings: Settings) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rehearsal": settings.rehearsal,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_info().describe(),
        "cpu_cores": os.cpu_count(),
        "settings": f"{settings.size} px, batch {settings.batch}, {settings.steps} timed steps "
        f"after {settings.warmup}",
    }
    if settings.device.type == "cuda":
        props = torch.cuda.get_device_properties(settings.device)
        info.update(
            device=props.name,
            memory_GiB=round(props.total_memory / 2**30, 1),
            compute_capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            driver=_driver(),
        )
    else:
        info["device"] = "cpu"
    return info


def _driver() -> str:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (no nvidia-smi)"
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def _line(row: Row) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in row.values.items() if v is not None)
    note = f" — {row.note}" if row.note else ""
    return f"[{row.status:7}] {row.section}: {row.name}: {shown}{note}"


COLUMNS = ("s_per_step", "images_per_s", "x_fp32", "peak_MiB", "warmup_s", "precision")


def markdown(info: dict[str, Any], rows: list[Row]) -> str:
    lines = ["# translkit GPU check", ""]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    lines += ["", "| section | check | status | " + " | ".join(COLUMNS) + " | other | note |"]
    lines.append("|" + "---|" * (len(COLUMNS) + 5))
    for r in rows:
        cells = ["–" if r.values.get(c) is None else str(r.values[c]) for c in COLUMNS]
        other = ", ".join(f"{k} {v}" for k, v in r.values.items() if k not in COLUMNS)
        note = r.note.replace("|", "/")
        lines.append(
            f"| {r.section} | {r.name} | {r.status} | {' | '.join(cells)} | {other} | {note} |"
        )
    return "\n".join(lines) + "\n"


def run_check(
    settings: Settings, out: Path, work: Path, budget: float
) -> tuple[dict[str, Any], list[Row]]:
    """Every section in order; the rows, whatever failed. ``out`` receives the table and the
    logs (a few small files); ``work`` the data, run directory and translations."""
    out.mkdir(parents=True, exist_ok=True)
    check = Check(settings, out, work, budget)
    info = header(settings)
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    baseline: dict[str, float] = {}
    steps: list[Callable[[], None]] = [
        lambda: check_auto(check),
        lambda: check_steps(check, MODES, baseline),
        lambda: _data(check),
        lambda: check_loader(check),
        lambda: check_ddp(check),
        lambda: check_translate(check),
        lambda: check_export(check),
        lambda: check_demo(check),
        lambda: check_cuda_tests(check),
        lambda: check_steps(check, COMPILED, baseline),
        lambda: judge_amp(check),
    ]
    with _compile_backend(settings.rehearsal):
        for step in steps:
            step()
    return info, check.rows


def _data(check: Check) -> None:
    with check.row("loader", f"synthetic set at {check.s.load_size} px") as row:
        make_data(check)
        row.values["images_per_domain"] = check.s.images


@contextmanager
def _compile_backend(rehearsal: bool) -> Iterator[None]:
    """In a rehearsal, ``torch.compile`` traces with dynamo but compiles nothing (inductor's
    C++ build takes minutes on a CPU); on a GPU it is left as it is (inductor)."""
    if not rehearsal:
        yield
        return
    original = torch.compile

    def traced(model: Any = None, **kwargs: Any) -> Any:
        return original(model, **{**kwargs, "backend": "eager"})

    torch.compile = traced  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.compile = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check"), help="JSON and Markdown")
    parser.add_argument("--rehearsal", action="store_true", help="CPU, tiny sizes, < 1 min")
    parser.add_argument("--device", default="cuda", help="the GPU to check (default cuda)")
    parser.add_argument(
        "--work", type=Path, help="data, runs and outputs (default: a temporary folder, removed)"
    )
    parser.add_argument(
        "--budget", type=float, default=420.0, help="seconds before compiled modes are skipped"
    )
    args = parser.parse_args(argv)
    if not args.rehearsal and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; use --rehearsal on a CPU", file=sys.stderr)
        return 2
    settings = Settings.make(args.rehearsal, args.device)
    with tempfile.TemporaryDirectory(prefix="translkit-gpu-check-") as tmp:
        work = args.work or Path(tmp)
        info, rows = run_check(settings, args.out, work, args.budget)
    table = markdown(info, rows)
    (args.out / "gpu_check.md").write_text(table, encoding="utf-8")
    record = {"header": info, "rows": [asdict(r) for r in rows]}
    (args.out / "gpu_check.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    print("\n" + table)
    failed = [r for r in rows if r.status == "failed"]
    print(f"{len(rows)} checks: {len(failed)} failed; written to {args.out}/gpu_check.md and .json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
