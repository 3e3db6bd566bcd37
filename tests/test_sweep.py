"""`translkit sweep` as a user meets it: sweep files checked at load time, trials as run
directories, pruning, failing trials, kill -9 and resume, two processes on one storage,
PostgreSQL. Tiny networks at 32 px, 1–2 epochs a trial."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from training_support import make_data
from typer.testing import CliRunner

from translkit.cli import app

optuna = pytest.importorskip("optuna")
runner = CliRunner()

RECIPE = """
[run]
name = "tiny"
seed = 3
[data]
root = "{data}"
load_size = 32
crop_size = 32
[generator]
name = "resnet"
n_blocks = 1
ngf = 4
norm = "instance"
[discriminator]
name = "patchgan"
ndf = 4
n_layers = 2
[optim]
epochs = {epochs}
batch_size = 2
[train]
device = "cpu"
precision = "fp32"
pool_size = 4
sample_every = 0
log_every = 1
tensorboard = false
[eval]
every = 1
num_samples = 0
"""


def _files(tmp_path: Path, sweep: str, *, epochs: int = 1) -> Path:
    data = make_data(tmp_path / "data")
    (tmp_path / "tiny.toml").write_text(RECIPE.format(data=data, epochs=epochs))
    path = tmp_path / "sweep.toml"
    head = f'[sweep]\nrecipe = "tiny.toml"\noutput_dir = "{tmp_path / "sweeps"}"\n'
    path.write_text(head + textwrap.dedent(sweep))
    return path


def _study(tmp_path: Path, name: str = "sweep") -> optuna.Study:
    url = f"sqlite:///{tmp_path / 'sweeps' / name / 'study.db'}"
    return optuna.load_study(study_name=name, storage=url)


def _states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials() if not t.user_attrs.get("surplus")]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _sweep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "translkit", "sweep", *args]


# -- load-time checks ---------------------------------------------------------------------
GOOD_SPACE = '[space]\n"optim.lr" = { low = 1e-4, high = 1e-2, log = true }\n'
OBJECTIVE = "[objective]\nmetric = 'objective'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[sweep]\ntrials = 2\n[sweeep]\n" + GOOD_SPACE,
            "unknown key 'sweeep' (did you mean 'sweep'?)",
        ),
        (
            "[objective]\nmetric = 'objective'\nbogus = 1\n" + GOOD_SPACE,
            "[objective]: unknown key 'bogus'; valid keys: metric, direction",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n\"optim.lrr\" = { low = 1, high = 2 }\n",
            "'optim.lrr' is not a key of the recipe (did you mean 'optim.lr'",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n"
            '"optim.lr" = { low = 1e-2, high = 1e-4 }\n',
            "low (0.01) must be below high (0.0001)",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n"
            '"optim.lr" = { low = 0.0, high = 1.0, log = true }\n',
            "a log-scale range needs low > 0",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n"
            '"optim.lr" = { low = -1.0, high = 1.0 }\n',
            "optim.lr = -1.0",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n\"generator.nblocks\" = [1, 2]\n",
            "'generator.nblocks' is not a key of the recipe (did you mean 'generator.n_blocks'",
        ),
        (
            "[objective]\nmetric = 'objective'\n[space]\n\"data.crop_size\" = [32, 64]\n",
            "data.load_size (32) is smaller than data.crop_size (64)",
        ),
        ("[objective]\nmetric = 'a2b/psnrr'\n" + GOOD_SPACE, "is not produced by the evaluation"),
        (
            "[objective]\nmetric = 'objective'\n[pruner]\nname = 'medain'\n" + GOOD_SPACE,
            "pruner.name must be one of 'median' | 'halving' | 'none', got 'medain' "
            "(did you mean 'median'?)",
        ),
        ("[objective]\nmetric = 'objective'\n", "[space] is missing or empty"),
        (
            "[objective]\nmetric = 'objective'\n[constraints]\n'a2b/psnrr' = { max = 1 }\n"
            + GOOD_SPACE,
            "[constraints]",
        ),
        (
            "[objective]\nmetric = 'objective'\n[constraints]\nobjective = { below = 1 }\n"
            + GOOD_SPACE,
            "[constraints.objective]: unknown key 'below'; valid keys: min, max",
        ),
        (
            "[objective]\nmetric = 'objective'\n[constraints]\nobjective = { max = 'low' }\n"
            + GOOD_SPACE,
            "constraints.objective.max must be float or none, got 'low' (str)",
        ),
        (
            "[objective]\nmetric = 'objective'\n[constraints]\nobjective = 2\n" + GOOD_SPACE,
            "[constraints.objective] must be a table of min, max, got 2",
        ),
        (
            "[objective]\nmetric = 'objective'\n[set]\n\"train.max_minutes\" = -1\n" + GOOD_SPACE,
            "train.max_minutes",
        ),
        # the tables are typed dataclasses, read as recipe sections are
        (
            "[sweep]\ntrials = 0\n[objective]\nmetric = 'objective'\n" + GOOD_SPACE,
            "sweep.trials must be ≥ 1, got 0",
        ),
        (
            "[sweep]\nminutes = -1\n[objective]\nmetric = 'objective'\n" + GOOD_SPACE,
            "sweep.minutes must be > 0, or 0 = off, got -1.0",
        ),
        ("[objective]\ndirection = 'up'\n" + GOOD_SPACE, "[objective] needs key 'metric'"),
        (
            OBJECTIVE + "direction = 'up'\n" + GOOD_SPACE,
            "objective.direction must be one of 'maximize' | 'minimize', got 'up'",
        ),
        (
            OBJECTIVE + "[sampler]\nseed = 'x'\n" + GOOD_SPACE,
            "sampler.seed must be int, got 'x' (str)",
        ),
        (
            OBJECTIVE + "[pruner]\nreduction_factor = 1\n" + GOOD_SPACE,
            "pruner.reduction_factor must be ≥ 2, got 1",
        ),
        (
            OBJECTIVE + '[space]\n"optim.lr" = { low = 1e-4, high = inf }\n',
            "space.optim.lr.high must be finite, got inf",
        ),
        (
            OBJECTIVE + '[space]\n"optim.lr" = { low = 0.1, high = 1, step = 0 }\n',
            "space.optim.lr.step must be > 0, got 0",
        ),
        (
            OBJECTIVE + '[space]\n"optim.lr" = { low = 0.1 }\n',
            "[space.optim.lr] needs key 'high'",
        ),
    ],
)
def test_bad_sweep_files_fail_at_load_time_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _files(tmp_path, "")
    path.write_text('[sweep]\nrecipe = "tiny.toml"\n' + text.replace("[sweep]\n", "", 1))
    result = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "sweeps").exists()


def test_dry_run_prints_the_resolved_space(tmp_path: Path) -> None:
    path = _files(
        tmp_path,
        """
        [objective]
        metric = "objective"
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        "optim.epochs" = { low = 1, high = 4 }
        "loss.identity.weight" = { low = 0.0, high = 5.0, step = 0.5 }
        [space.generator.choices.small]
        name = "resnet"
        n_blocks = 1
        ngf = 4
        [space.generator.choices.unet]
        name = "unet"
        num_downs = 5
        ngf = 4
        """,
    )
    result = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "objective: minimize objective" in out
    assert "optim.lr              float in [0.0001, 0.01], log scale" in out
    assert "optim.epochs          int in [1, 4]" in out
    assert "float in [0, 5], step 0.5" in out
    assert "generator             one of small, unet" in out
    assert not (tmp_path / "sweeps").exists()


# -- running sweeps ----------------------------------------------------------------------
needs_no_cuda = pytest.mark.skipif(
    shutil.which("nvidia-smi") is not None, reason="the failing trial asks for CUDA"
)


@pytest.mark.slow
@needs_no_cuda
def test_sweep_completes_writes_best_and_survives_failing_trials(tmp_path: Path) -> None:
    # seed 4 draws device cpu, cpu, cuda, cuda: two trials fail on this CPU
    path = _files(
        tmp_path,
        """
        trials = 4
        [objective]
        metric = "objective"
        [sampler]
        name = "random"
        seed = 4
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        "train.device" = ["cpu", "cuda"]
        """,
    )
    env = {k: v for k, v in _env().items() if k not in ("OMP_NUM_THREADS", "TRANSLKIT_THREADS")}
    result = subprocess.run(
        _sweep_cmd(str(path), "--jobs", "2"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    study = _study(tmp_path)
    states = _states(study)
    # two trials at once share the cores: each gets half of them (translkit.threads)
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    complete = next(t for t in study.get_trials() if t.state.name == "COMPLETE")
    log = (tmp_path / "sweeps" / "sweep" / "logs" / f"trial_{complete.number:04d}.log").read_text()
    assert f"training on cpu, {share} threads" in log
    assert sorted(states) == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    for t in study.get_trials():
        if t.state.name == "FAIL":
            assert t.params["train.device"] == "cuda"
            reason = t.user_attrs["reason"]
            assert "\n" not in reason and reason, reason
    sweep_dir = tmp_path / "sweeps" / "sweep"
    best = study.best_trial
    trial_dir = sweep_dir / f"trial_{best.number:04d}"
    assert (trial_dir / "recipe.resolved.toml").is_file()
    assert (trial_dir / "checkpoints" / "best.pt").is_file()
    assert "[objective]" not in result.stdout and "best: translkit run" in result.stdout
    dry = runner.invoke(app, ["run", str(sweep_dir / "best.toml"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert 'name = "sweep_best"' in dry.output
    page = (sweep_dir / "report.html").read_text()
    assert page.count("<svg") >= 2 and "Optimisation history" in page
    show = runner.invoke(app, ["sweep", str(sweep_dir), "--show"], terminal_width=80)
    assert show.exit_code == 0, show.output
    assert "complete" in show.output and "failed" in show.output
    table = [line for line in show.output.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80, show.output


@pytest.mark.slow
def test_pruner_stops_a_hopeless_trial(tmp_path: Path) -> None:
    # the test objective sums the weighted losses: cycle weight 1000 is hopeless by design.
    # seed 1 draws 1, 1, 1000: trial 2 meets the median of trials 0 and 1.
    path = _files(
        tmp_path,
        """
        trials = 3
        [objective]
        metric = "objective"
        [sampler]
        name = "random"
        seed = 1
        [pruner]
        name = "median"
        startup_trials = 2
        warmup_epochs = 0
        [space]
        "loss.cycle.weight" = [1.0, 1000.0]
        """,
        epochs=3,
    )
    result = runner.invoke(app, ["sweep", str(path)])
    assert result.exit_code == 0, result.output
    study = _study(tmp_path)
    trial = study.get_trials()[2]
    assert trial.params["loss.cycle.weight"] == 1000.0
    assert trial.state.name == "PRUNED"
    assert trial.user_attrs["reason"].startswith("pruned at epoch 1")
    assert trial.user_attrs["projected_minutes"] > trial.user_attrs["minutes"]
    run_dir = tmp_path / "sweeps" / "sweep" / "trial_0002"
    assert (run_dir / "checkpoints" / "latest.pt").is_file()
    import json

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["stopped"].startswith("pruned")
    assert "1 pruned after" in result.output


@pytest.mark.slow
def test_kill_9_then_the_same_command_continues(tmp_path: Path) -> None:
    path = _files(
        tmp_path,
        """
        trials = 2
        [objective]
        metric = "objective"
        [pruner]
        name = "none"
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        """,
        epochs=4,
    )
    sweep = subprocess.Popen(
        _sweep_cmd(str(path)),
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = tmp_path / "sweeps" / "sweep" / "trial_0000" / "checkpoints" / "latest.pt"
    deadline = time.monotonic() + 240
    while not first.is_file() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.2)
    assert first.is_file(), "the first trial never wrote a checkpoint"
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    study = _study(tmp_path)
    assert _states(study) == ["RUNNING"]
    # its worker got SIGTERM from the kernel and checkpoints; the rerun resumes the trial
    again = subprocess.run(
        _sweep_cmd(str(path)), cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-3000:]
    study = _study(tmp_path)
    assert _states(study) == ["COMPLETE", "COMPLETE"]  # 2 trials: none repeated, none lost
    assert len({t.params["optim.lr"] for t in study.get_trials()}) == 2  # new draws after restart
    log = (tmp_path / "sweeps" / "sweep" / "logs" / "trial_0000.log").read_text()
    assert "resumed from" in log
    assert "#0 resumed" in again.stderr


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    path = _files(
        tmp_path,
        """
        trials = 3
        [objective]
        metric = "objective"
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        """,
    )
    cmd = _sweep_cmd(str(path))
    procs = [
        subprocess.Popen(
            cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=500) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    study = _study(tmp_path)
    assert _states(study) == ["COMPLETE"] * 3
    assert (
        len({t.params["optim.lr"] for t in study.get_trials() if t.state.name == "COMPLETE"}) == 3
    )
    dirs = sorted(p.name for p in (tmp_path / "sweeps" / "sweep").glob("trial_*"))
    assert len(dirs) == len({t.number for t in study.get_trials() if t.state.name == "COMPLETE"})


# -- PostgreSQL -------------------------------------------------------------------------
def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres(tmp_path: Path):
    """A PostgreSQL server of Debian's packages in a temporary directory (skips without)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed: apt-get install postgresql")
    pytest.importorskip("psycopg2", reason="pip install psycopg2-binary")
    # in a folder of its own under /tmp: the server's user must reach it (pytest's is private)
    folder = Path(tempfile.mkdtemp(prefix="translkit-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as an unprivileged user
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None or not shutil.which("runuser"):
            shutil.rmtree(folder)
            pytest.skip("running as root without a postgres/nobody user and runuser")
        shutil.chown(folder, user)
        prefix = ["runuser", "-u", user, "--"]
    data, port = folder / "data", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True, cwd=folder)

    started = False
    try:
        run(initdb, "-D", str(data), "-U", "translkit", "--auth=trust")
        opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        run(pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o", opts, "start")
        started = True
        createdb = _pg_bin("createdb") or "createdb"
        run(createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "translkit", "sweeps")
        yield f"postgresql+psycopg2://translkit@127.0.0.1:{port}/sweeps"
    finally:
        if started:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.slow
def test_postgresql_storage_shared_by_url(tmp_path: Path, postgres: str) -> None:
    path = _files(
        tmp_path,
        """
        trials = 2
        [objective]
        metric = "objective"
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        """,
    )
    result = runner.invoke(app, ["sweep", str(path), "--storage", postgres])
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="sweep", storage=postgres)
    assert _states(study) == ["COMPLETE", "COMPLETE"]
    assert not (tmp_path / "sweeps" / "sweep" / "study.db").exists()
    show = runner.invoke(
        app, ["sweep", str(tmp_path / "sweeps" / "sweep"), "--show", "--storage", postgres]
    )
    assert show.exit_code == 0, show.output
    assert show.output.count("complete") == 2


def test_parallel_trials_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from translkit import threads

    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setenv(threads.SHARE_ENV, "2")
    assert threads.local_processes() == 2
    assert threads.core_share() == max(1, threads.usable_cores() // 2)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # DDP workers of two parallel trials
    assert threads.local_processes() == 4


class _Trial:
    def __init__(self, number: int, value: float | None, constraints: list[float] | None):
        self.number, self.value = number, value
        self.state = type("S", (), {"name": "COMPLETE" if value is not None else "FAIL"})()
        self.user_attrs = {} if constraints is None else {"constraints": constraints}


class _Study:
    def __init__(self, trials: list[_Trial]) -> None:
        self.trials = trials

    def get_trials(self, deepcopy: bool = True) -> list[_Trial]:
        return self.trials


def test_the_best_trial_is_the_best_that_meets_every_constraint() -> None:
    from translkit.sweep.spec import violations
    from translkit.sweep.study import best_trial

    spec = type("Spec", (), {"direction": "minimize"})()
    spec.constraints = {"a2b/domain_spectral_peak": {"max": 2.5}}
    assert violations(spec.constraints, {"a2b/domain_spectral_peak": 2.7}) == pytest.approx([0.2])
    assert violations(spec.constraints, {"a2b/domain_spectral_peak": 2.0}) == [-0.5]
    assert violations({"x": {"min": 1.0, "max": 3.0}}, {"x": float("nan")}) == [1e9, 1e9]
    trials = [
        _Trial(0, 0.1, [0.2]),  # the lowest objective, but a grid: infeasible
        _Trial(1, 0.3, [-0.5]),
        _Trial(2, 0.2, [-0.1]),
        _Trial(3, 0.05, None),  # never judged: infeasible
        _Trial(4, None, None),  # failed
    ]
    assert best_trial(_Study(trials), spec).number == 2
    spec.direction = "maximize"
    assert best_trial(_Study(trials), spec).number == 1
    assert best_trial(_Study(trials[:1]), spec) is None


@pytest.mark.slow
def test_constraints_are_judged_at_each_trials_best_evaluation(tmp_path: Path) -> None:
    """A constraint no trial can meet: every trial records how far it is from it, no best
    recipe is written, and the sweep says why; the dry run lists the constraint."""
    path = _files(
        tmp_path,
        """
        trials = 2
        [objective]
        metric = "objective"
        [constraints]
        objective = { max = -1.0 }   # the objective is never negative
        [sampler]
        name = "tpe"
        startup_trials = 10          # random draws, but TPE records the constraints
        [space]
        "optim.lr" = { low = 1e-4, high = 1e-2, log = true }
        """,
    )
    dry = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "constraint: objective <= -1" in dry.output, dry.output
    result = subprocess.run(
        _sweep_cmd(str(path)), cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    study = _study(tmp_path)
    complete = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert len(complete) == 2
    for t in complete:
        (excess,) = t.user_attrs["constraints"]
        assert excess == pytest.approx(t.value + 1.0)  # judged at the best evaluation
        assert t.system_attrs.get("constraints") == [excess]  # what constrained TPE reads
    assert "no completed trial meets the constraints (objective <= -1)" in result.stdout
    assert not (tmp_path / "sweeps" / "sweep" / "best.toml").exists()
    assert (
        "meeting objective &lt;= -1" in (tmp_path / "sweeps" / "sweep" / "report.html").read_text()
    )


def test_a_sweep_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_bytes(b'[sweep]\nrecipe = "\xff.toml"\n')
    result = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("error: sweep file") and "is not UTF-8 text" in result.output
