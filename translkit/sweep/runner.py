"""``translkit sweep SWEEP.toml``: ask Optuna for trials, run each in a worker process,
keep the budget, survive being killed, draw the progress.

Each trial runs in a process of its own (:mod:`translkit.sweep.worker`): a crash, an
out-of-memory kill or a hung trial never takes the sweep down, ``--jobs N`` runs N at once
within translkit's thread budget (:func:`translkit.threads.launcher_env`: each gets its
share of the cores), and a sweep killed even by ``kill -9`` leaves its trials ``RUNNING``
in the storage with this machine's name and the sweep's PID. The next ``translkit sweep``
on this machine resumes them from their checkpoints (:func:`~translkit.sweep.study.
stale_here`); trials of another machine whose heartbeat stopped are marked failed and
re-queued with the same parameters by Optuna's retry callback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from translkit.errors import RecipeError, TranslkitError
from translkit.fileio import write_text_atomic
from translkit.sweep.spec import SweepSpec, trial_name
from translkit.sweep.study import (
    ATTR_HOST,
    ATTR_PID,
    ATTR_REASON,
    ATTR_SURPLUS,
    ENV_STORAGE,
    best_trial,
    done_trials,
    host,
    is_surplus,
    make_sampler,
    open_storage,
    open_study,
    stale_here,
    storage_url,
    taken,
)

__all__ = ["SweepOutcome", "run_sweep"]

POLL_S = 0.5


@dataclass
class _Running:
    number: int
    trial_id: int
    proc: subprocess.Popen
    started: float
    params: dict[str, Any]
    log: Any


@dataclass
class SweepOutcome:
    done: int = 0
    interrupted: int = 0  # the signal that stopped the sweep, or 0
    timed_out: bool = False
    messages: list[str] = field(default_factory=list)


class _Sweep:
    def __init__(self, spec: SweepSpec, url: str | None, jobs: int, console: Console) -> None:
        self.t0 = time.monotonic()  # [sweep] minutes count from here, set-up included
        self.spec, self.jobs, self.console = spec, max(1, jobs), console
        self.dir = spec.sweep_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "recipes").mkdir(exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        self.url = storage_url(self.dir, url)
        self.storage = open_storage(self.url)
        self.study = open_study(spec, self.storage)
        from translkit.plugin_manager import load_plugins

        self.registries = load_plugins(spec.plugins).registries
        self.running: dict[int, _Running] = {}
        self.stop_signal = 0
        self.last_beat = 0.0
        self.events: list[str] = []
        self.prepared: set[str] = set()

    # -- trials ------------------------------------------------------------------------------
    def trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)

    def _env(self) -> dict[str, str]:
        from translkit.threads import SHARE_ENV, launcher_env

        env = {**os.environ, **launcher_env(self.jobs), ENV_STORAGE: self.url}
        env[SHARE_ENV] = str(self.jobs)  # each trial's thread budget: its share of the cores
        return env

    def _config(self) -> str:
        spec = self.spec
        return json.dumps(
            {
                "metric": spec.metric,
                "direction": spec.direction,
                "constraints": spec.constraints,
                "sampler": spec.sampler,
                "pruner": spec.pruner,
                "plugins": spec.plugins,
            }
        )

    def _ensure_data(self, recipe: Any) -> None:
        key = repr(recipe.data)
        if key not in self.prepared:  # one process fetches or generates the data, once
            from translkit.data import ensure_dataset

            ensure_dataset(recipe.data, registries=self.registries, download=True)
            self.prepared.add(key)

    def _launch(self, number: int, trial_id: int, recipe_file: Path, *, resume: bool) -> None:
        self.storage.set_trial_user_attr(trial_id, ATTR_HOST, host())
        self.storage.set_trial_user_attr(trial_id, ATTR_PID, os.getpid())
        self.storage.record_heartbeat(trial_id)
        log = open(self.dir / "logs" / f"{trial_name(number)}.log", "ab")  # noqa: SIM115
        cmd = [
            sys.executable,
            "-m",
            "translkit.sweep.worker",
            "--study",
            self.spec.name,
            "--trial",
            str(number),
            "--recipe",
            str(recipe_file),
            "--config",
            self._config(),
            "--parent",
            str(os.getpid()),
        ]
        if resume:
            cmd.append("--resume")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env())
        params = dict(self.storage.get_trial(trial_id).params)
        self.running[number] = _Running(number, trial_id, proc, time.monotonic(), params, log)
        verb = "resumed" if resume else "started"
        self._event(f"#{number} {verb}: {_params_text(self.spec, params)}")

    def _new_trial(self) -> bool:
        """Ask for one trial and start it; ``False`` when the budget is taken."""
        optuna_trial = self.study.ask()
        number = optuna_trial.number
        if is_surplus(self.trials(), number, self.spec.trials):
            self.storage.set_trial_user_attr(optuna_trial._trial_id, ATTR_SURPLUS, True)
            self.storage.set_trial_user_attr(
                optuna_trial._trial_id, ATTR_REASON, "not run: other processes took the budget"
            )
            self.study.tell(number, state=_state("FAIL"))
            return False
        # seeded by trial number: a restarted sweep, or a second process, draws new values
        # (one sampler seeded once per process would repeat its first draws), and one
        # process's sweep is still reproducible
        table = self.spec.sampler
        seed = (table["seed"] * 1_000_003 + number) % 2**32
        self.study.sampler = make_sampler({**table, "seed": seed})
        labels = {p.key: p.suggest(optuna_trial) for p in self.spec.space}
        try:
            recipe = self.spec.trial_recipe(labels, number, self.registries)
            self._ensure_data(recipe)
        except TranslkitError as err:  # a bad combination: this trial fails, the sweep goes on
            reason = str(err).splitlines()[0]
            self.storage.set_trial_user_attr(optuna_trial._trial_id, ATTR_REASON, reason)
            self.study.tell(number, state=_state("FAIL"))
            self._event(f"#{number} failed: {reason}")
            return True
        recipe_file = self.dir / "recipes" / f"{trial_name(number)}.toml"
        write_text_atomic(recipe_file, recipe.to_toml())
        self._launch(number, optuna_trial._trial_id, recipe_file, resume=False)
        return True

    def _recover(self) -> None:
        """Resume this machine's interrupted trials; fail stale ones of other machines."""
        from optuna.storages import fail_stale_trials

        for t in self.trials():
            if len(self.running) >= self.jobs or self.stop_signal:
                break
            run_dir = self.dir / trial_name(t.number)
            if stale_here(t, run_dir, set(self.running)):
                recipe_file = self.dir / "recipes" / f"{trial_name(t.number)}.toml"
                if not recipe_file.is_file():
                    self._fail(t._trial_id, t.number, "its recipe file is missing")
                    continue
                self._launch(t.number, t._trial_id, recipe_file, resume=True)
        fail_stale_trials(self.study)

    def _fail(self, trial_id: int, number: int, reason: str) -> None:
        self.storage.set_trial_user_attr(trial_id, ATTR_REASON, reason)
        self.study.tell(number, state=_state("FAIL"), skip_if_finished=True)
        self._event(f"#{number} failed: {reason}")

    def _reap(self) -> None:
        for number, run in list(self.running.items()):
            rc = run.proc.poll()
            if rc is None:
                continue
            run.log.close()
            del self.running[number]
            frozen = self.storage.get_trial(run.trial_id)
            state = frozen.state.name
            if state == "RUNNING":
                if self.stop_signal:  # interrupted with the sweep: resumed next time
                    self._event(f"#{number} interrupted; it resumes when the sweep runs again")
                    continue
                self._fail(run.trial_id, number, _exit_reason(rc, self.dir, number))
            elif state == "COMPLETE":
                self._event(f"#{number} complete: {self.spec.metric} {frozen.value:.4g}")
            elif state == "PRUNED":
                self._event(f"#{number} {frozen.user_attrs.get(ATTR_REASON, 'pruned')}")
            elif state == "FAIL":
                self._event(f"#{number} failed: {frozen.user_attrs.get(ATTR_REASON, '?')}")

    def _heartbeat(self) -> None:
        from translkit.sweep.study import HEARTBEAT_S

        now = time.monotonic()
        if now - self.last_beat < HEARTBEAT_S / 2:
            return
        self.last_beat = now
        for run in self.running.values():
            self.storage.record_heartbeat(run.trial_id)

    def _event(self, text: str) -> None:
        self.events.append(text)
        if not self.console.is_terminal:
            self.console.print(f"sweep {self.spec.name}: {text}", highlight=False, soft_wrap=True)

    # -- the loop ----------------------------------------------------------------------------
    def out_of_time(self) -> bool:
        return bool(self.spec.minutes) and time.monotonic() - self.t0 >= self.spec.minutes * 60

    def step(self) -> bool:
        """One round; ``False`` when the sweep is over for this process."""
        self._reap()
        self._heartbeat()
        if self.stop_signal:
            return bool(self.running)
        self._recover()
        trials = self.trials()
        while (
            len(self.running) < self.jobs
            and not self.out_of_time()
            and _can_ask(trials, self.spec.trials)
            and self._new_trial()
        ):
            trials = self.trials()
        if self.running:
            return True
        # nothing of ours runs: wait while others' trials are under way, if the budget needs them
        others = [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
        if self.out_of_time():
            return False
        return bool(others) and len(done_trials(trials)) < self.spec.trials

    def signal(self, signum: int, frame: Any) -> None:
        if not self.stop_signal:
            self.stop_signal = signum
            for run in self.running.values():
                if run.proc.poll() is None:
                    run.proc.send_signal(signal.SIGTERM)

    def render(self) -> Group:
        trials = self.trials()
        done = done_trials(trials)
        width = self.console.width
        pruned = sum(t.state.name == "PRUNED" for t in done)
        failed = sum(t.state.name == "FAIL" for t in done)
        head = f"sweep {self.spec.name}: {len(done)}/{self.spec.trials} done"
        if pruned or failed:
            head += f" ({pruned} pruned, {failed} failed)"
        best = _best(self.study, self.spec)
        if best is not None:
            head += f" · best {best.value:.4g} (#{best.number})"
        head += f" · {(time.monotonic() - self.t0) / 60:.1f} min"
        lines = [Text(head, style="bold", no_wrap=True, overflow="ellipsis")]
        for run in self.running.values():
            frozen = self.storage.get_trial(run.trial_id)
            values = frozen.intermediate_values
            last = f" · epoch {max(values)}: {values[max(values)]:.4g}" if values else ""
            minutes = (time.monotonic() - run.started) / 60
            line = f" #{run.number} {_params_text(self.spec, run.params)}{last} · {minutes:.1f} min"
            lines.append(Text(line, no_wrap=True, overflow="ellipsis"))
        for event in self.events[-3:]:
            lines.append(Text(f" {event}", style="dim", no_wrap=True, overflow="ellipsis"))
        if self.stop_signal:
            lines.append(
                Text(" stopping: waiting for the running trials to checkpoint", style="yellow")
            )
        del width
        return Group(*lines)


def run_sweep(
    spec: SweepSpec, *, storage: str | None = None, jobs: int = 1, console: Console | None = None
) -> SweepOutcome:
    """Run (or continue) the sweep until its budget is done, it runs out of time, or a
    signal stops it; then write the table, ``best.toml`` and ``report.html``."""
    console = console or Console(stderr=True)
    sweep = _Sweep(spec, storage, jobs, console)
    old = {s: signal.signal(s, sweep.signal) for s in (signal.SIGINT, signal.SIGTERM)}
    outcome = SweepOutcome()
    try:
        if console.is_terminal:
            with Live(sweep.render(), console=console, refresh_per_second=2) as live:
                while sweep.step():
                    live.update(sweep.render())
                    time.sleep(POLL_S)
                live.update(sweep.render())
        else:
            while sweep.step():
                time.sleep(POLL_S)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for run in sweep.running.values():  # only after an unexpected error
            run.proc.send_signal(signal.SIGTERM)
    outcome.done = len(done_trials(sweep.trials()))
    outcome.interrupted = sweep.stop_signal
    outcome.timed_out = sweep.out_of_time() and outcome.done < spec.trials
    return outcome


def _can_ask(trials: list[Any], budget: int) -> bool:
    """A re-queued trial waits (``ask`` takes it first), or the budget has room."""
    return any(t.state.name == "WAITING" for t in trials) or taken(trials) < budget


def _state(name: str) -> Any:
    import optuna

    return optuna.trial.TrialState[name]


def _best(study: Any, spec: SweepSpec) -> Any:
    return best_trial(study, spec)


def _params_text(spec: SweepSpec, params: dict[str, Any]) -> str:
    out = []
    for p in spec.space:
        if p.key in params:
            v = params[p.key]
            out.append(f"{p.short}={v:.3g}" if isinstance(v, float) else f"{p.short}={v}")
    return " ".join(out)


def _exit_reason(rc: int, sweep_dir: Path, number: int) -> str:
    """Why a worker ended without telling Optuna: its last error line, or its exit."""
    log = sweep_dir / "logs" / f"{trial_name(number)}.log"
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    if rc < 0:
        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
        hint = " (out of memory?)" if -rc == signal.SIGKILL else ""
        return f"the trial process was killed by {name}{hint}"
    if rc > 128 and (rc - 128) in (signal.SIGINT, signal.SIGTERM):
        return f"the trial process was stopped by {signal.Signals(rc - 128).name}"
    last = lines[-1] if lines else ""
    return last[:200] if last else f"the trial process ended with exit code {rc}"


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise RecipeError(f"--jobs must be at least 1, got {jobs}")
