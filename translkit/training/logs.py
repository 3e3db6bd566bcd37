"""What a run reports while it trains: ``metrics.jsonl``, ``eval.jsonl``, TensorBoard, and a
rich live display (epoch, step, images/s, ETA, current losses) with a closing summary.

The live display is two lines, so that it reads whole in an 80-column terminal: the bar
with epoch, steps, speed, elapsed time and ETA, then the current losses.

Only the main process (rank 0) creates a :class:`RunLog`. ``images/s`` counts training
examples — one image of each domain — per second, over all processes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from translkit.rundir import RunDir

__all__ = ["RunLog", "training_progress", "truncate_jsonl"]

#: Without a live display, seconds between plain progress lines.
PLAIN_LINE_SECONDS = 30.0
_SHOWN = ("G_total", "D_A", "D_B", "cycle_A", "cycle_B", "nce_A")


def truncate_jsonl(path: Path, max_step: int) -> None:
    """Drop records with ``step > max_step`` (logged after the checkpoint being resumed)."""
    if not path.is_file():
        return
    keep = []  # a line torn by a kill (or not a record at all) is dropped
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= max_step:
            keep.append(line)
    path.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")


class _TrainingProgress(Progress):
    """A progress bar with the current losses on a line of their own below it."""

    def get_renderables(self) -> Any:
        losses = next((t.fields.get("losses", "") for t in self.tasks), "")
        parts: list[RenderableType] = [self.make_tasks_table(self.tasks)]
        if losses:
            parts.append(Text(f"  {losses}", overflow="fold"))
        yield Group(*parts)


def training_progress(console: Console) -> Progress:
    """The live display: ``epoch N ━━━ step/total  img/s  elapsed  ETA remaining`` and
    the losses below; every column but the bar keeps its full width."""
    return _TrainingProgress(
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(bar_width=None, table_column=Column(ratio=1)),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        expand=True,
    )


class RunLog:
    """Writes the run directory's logs and drives the live display.

    :param run: the run directory.
    :param total_steps: steps of the whole run (for the bar and the ETA).
    :param show: draw the rich progress display (off in tests and non-main processes).
    :param tensorboard: also write TensorBoard events when tensorboard is installed.
    """

    def __init__(
        self,
        run: RunDir,
        *,
        total_steps: int,
        start_step: int,
        show: bool,
        tensorboard: bool,
        console: Console | None = None,
    ) -> None:
        self.run = run
        self.console = console or Console(stderr=True)
        self.metrics = open(run.metrics_file, "a", encoding="utf-8")  # noqa: SIM115
        self.evals = open(run.eval_file, "a", encoding="utf-8")  # noqa: SIM115
        self.tb = _tensorboard(run.tensorboard) if tensorboard else None
        self.progress: Progress | None = None
        self.total_steps = total_steps
        self._last_line = time.monotonic()
        if show:
            self.progress = training_progress(self.console)
            self.task = self.progress.add_task(
                "train", total=total_steps, completed=start_step, epoch="-", speed="", losses=""
            )
            self.progress.start()

    def step(self, record: dict[str, Any]) -> None:
        """Append one ``metrics.jsonl`` record and refresh the display."""
        self.metrics.write(json.dumps(record) + "\n")
        self.metrics.flush()
        if self.tb is not None:
            for key, value in record.items():
                if key.startswith(("loss/", "lr/")) or key == "images_per_s":
                    self.tb.add_scalar(key, value, record["step"])
        losses = " ".join(f"{k}={record[f'loss/{k}']:.3f}" for k in _SHOWN if f"loss/{k}" in record)
        if self.progress is None:  # no terminal (a log file, CI): a plain line now and then
            now = time.monotonic()
            if now - self._last_line >= PLAIN_LINE_SECONDS or record["step"] >= self.total_steps:
                self._last_line = now
                self.console.print(
                    f"step {record['step']}/{self.total_steps} epoch {record['epoch']} "
                    f"{record['images_per_s']:.1f} img/s {losses}",
                    highlight=False,
                    soft_wrap=True,
                )
        else:
            self.progress.update(
                self.task,
                completed=record["step"],
                epoch=record["epoch"],
                speed=f"{record['images_per_s']:.1f} img/s",
                losses=losses,
            )

    def advance(self, step: int, epoch: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=step, epoch=epoch)

    def evaluation(self, record: dict[str, Any]) -> None:
        self.evals.write(json.dumps(record) + "\n")
        self.evals.flush()
        if self.tb is not None:
            for key, value in record.items():
                if key not in ("epoch", "step"):
                    self.tb.add_scalar(f"eval/{key}", value, record["step"])
        self.print(
            f"epoch {record['epoch']} evaluation: "
            + ", ".join(
                f"{k}={v:.4g}"
                for k, v in record.items()
                if "/" not in k and k not in ("epoch", "step")
            )
        )

    def image(self, tag: str, grid: Any, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, grid, step)

    def print(self, text: str) -> None:
        console = self.progress.console if self.progress is not None else self.console
        console.print(text, highlight=False, soft_wrap=True)

    def close(self, summary: dict[str, Any] | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.metrics.close()
        self.evals.close()
        if self.tb is not None:
            self.tb.close()
        if summary is not None:
            self.console.print(_summary_table(summary))


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="training summary", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    state = (
        "finished"
        if summary.get("finished")
        else ("interrupted (resume with --resume)" if summary.get("interrupted") else "stopped")
    )
    rows = [
        ("state", state),
        ("epochs", str(summary.get("epochs"))),
        ("steps", str(summary.get("steps"))),
        ("time", f"{summary.get('seconds', 0):.1f} s"),
        ("images/s", f"{summary.get('images_per_s', 0):.2f}"),
        ("device", str(summary.get("device"))),
        ("precision", str((summary.get("precision") or {}).get("name", "-"))),
        ("run directory", str(summary.get("run_dir"))),
    ]
    if summary.get("best"):
        best = summary["best"]
        rows.append(("best", f"{best['metric']}={best['value']:.4g} at epoch {best['epoch']}"))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(folder))


def now() -> float:
    return time.perf_counter()
