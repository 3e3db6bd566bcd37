"""The Optuna side of a sweep: storage, study, sampler, pruner and the trial bookkeeping.

Trials live in Optuna's storage — an SQLite file in the sweep directory by default, or any
database SQLAlchemy reaches (``--storage postgresql://...``) so that processes on several
machines share one study. The budget counts *done* trials: complete, pruned, or failed
with a reason; a trial that was interrupted and re-queued (:func:`recover_stale`) does not
count twice.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from translkit.errors import TranslkitError

__all__ = [
    "HEARTBEAT_S",
    "best_trial",
    "done_trials",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "open_study",
    "storage_url",
]

#: Seconds between heartbeats of a running trial, and after how long without one a trial of
#: another machine counts as stale (failed and re-queued with the same parameters).
HEARTBEAT_S = 20
GRACE_S = 120
#: Trial user attributes written by translkit.
ATTR_HOST, ATTR_PID, ATTR_REASON, ATTR_SURPLUS = "host", "pid", "reason", "surplus"
ATTR_MINUTES, ATTR_EPOCHS, ATTR_PROJECTED = "minutes", "epochs", "projected_minutes"
ENV_STORAGE = "TRANSLKIT_SWEEP_STORAGE"


def optuna_module() -> Any:
    """Optuna, quiet; a clear error when the ``sweep`` extra is not installed."""
    try:
        import optuna
    except ImportError:
        raise TranslkitError(
            "translkit sweep needs Optuna: pip install 'translkit[sweep]' (or pip install optuna)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # heartbeats and the retry callback are marked experimental; ask/tell with heartbeats is
    # what a sweep of worker processes needs (Optuna's own optimize() runs in one process)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    return optuna


def storage_url(sweep_dir: Path, url: str | None) -> str:
    """``url``, or the SQLite file ``study.db`` in the sweep directory."""
    return url or f"sqlite:///{(sweep_dir / 'study.db').resolve()}"


def masked(url: str) -> str:
    """``url`` without its password, for messages."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}://{user}:***@{host}" if ":" in creds else url


def open_storage(url: str) -> Any:
    """An Optuna ``RDBStorage`` for ``url`` with heartbeats; a one-line error when the
    database cannot be reached or its driver is missing."""
    optuna = optuna_module()
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = (
        {"connect_args": {"timeout": 120}} if sqlite else {"pool_pre_ping": True}
    )

    def create() -> Any:
        return RDBStorage(
            url,
            engine_kwargs=kwargs,
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
        )

    try:
        with _schema_lock(url):
            try:
                return create()
            except Exception:
                time.sleep(1.0)
                return create()
    except ModuleNotFoundError as err:
        driver = {"psycopg2": "psycopg2-binary"}.get(err.name or "", err.name)
        raise TranslkitError(
            f"storage {masked(url)} needs the Python package {err.name!r}: pip install {driver}"
        ) from None
    except (optuna.exceptions.StorageInternalError, Exception) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TranslkitError(f"storage {masked(url)} cannot be opened: {first}") from None


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Processes opening one new SQLite file create its tables one at a time (Optuna's
    first-use migration is not safe to run twice at once)."""
    if not url.startswith("sqlite:///"):
        yield
        return
    lock = Path(url[len("sqlite:///") :] + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


#: A trial's constraint values (``[constraints]``; ≤ 0 where met), stored by the worker.
ATTR_CONSTRAINTS = "constraints"
#: What a constraint counts as when its metric was never evaluated: far from met.
UNMET = 1e9


def constraint_values(trial: Any) -> list[float]:
    """A finished trial's constraint values for Optuna's constrained TPE (≤ 0: met)."""
    return [float(v) for v in trial.user_attrs.get(ATTR_CONSTRAINTS, [UNMET])]


def feasible(trial: Any) -> bool:
    return all(v <= 0 for v in constraint_values(trial))


def make_sampler(table: dict[str, Any], *, constrained: bool = False) -> Any:
    """The sweep's sampler; with ``constrained``, TPE prefers trials that meet the
    ``[constraints]`` (Optuna's ``constraints_func``; the random sampler ignores them)."""
    optuna = optuna_module()
    if table["name"] == "random":
        return optuna.samplers.RandomSampler(seed=table["seed"])
    return optuna.samplers.TPESampler(
        seed=table["seed"],
        n_startup_trials=table["startup_trials"],
        constraints_func=constraint_values if constrained else None,
    )


def best_trial(study: Any, spec: Any) -> Any:
    """The best completed trial that meets every constraint (``None`` if there is none)."""
    if not getattr(spec, "constraints", None):
        try:
            return study.best_trial
        except ValueError:
            return None
    done = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE" and t.value is not None and feasible(t)
    ]
    if not done:
        return None
    pick = max if spec.direction == "maximize" else min
    return pick(done, key=lambda t: t.value)


def make_pruner(table: dict[str, Any]) -> Any:
    optuna = optuna_module()
    if table["name"] == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=table["startup_trials"],
            n_warmup_steps=table["warmup_epochs"],
            n_min_trials=max(1, table["min_trials"]),
        )
    if table["name"] == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=table["min_resource"], reduction_factor=table["reduction_factor"]
        )
    return optuna.pruners.NopPruner()


def open_study(spec: Any, storage: Any, *, create: bool = True) -> Any:
    """The sweep's study (created on first use); refuses a study of the other direction."""
    optuna = optuna_module()
    if not create:
        try:
            return optuna.load_study(
                study_name=spec.name,
                storage=storage,
                sampler=make_sampler(spec.sampler, constrained=bool(spec.constraints)),
                pruner=make_pruner(spec.pruner),
            )
        except KeyError:
            raise TranslkitError(f"no sweep named {spec.name!r} in {storage.url!r}") from None
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=make_sampler(spec.sampler, constrained=bool(spec.constraints)),
        pruner=make_pruner(spec.pruner),
        direction=spec.direction,
        load_if_exists=True,
    )
    if study.direction.name.lower() != spec.direction:
        raise TranslkitError(
            f"sweep {spec.name!r} in this storage is to {study.direction.name.lower()} its "
            f"objective, the sweep file says {spec.direction}; use another [sweep] name"
        )
    study.set_user_attr("metric", spec.metric)
    return study


# -- bookkeeping ---------------------------------------------------------------------------
def _retried(trials: list[Any]) -> set[int]:
    """Numbers of failed trials that a later trial re-runs (Optuna's retry callback)."""
    out: set[int] = set()
    for t in trials:
        out.update(int(n) for n in t.system_attrs.get("retry_history", ()))
    return out


def counts(trial: Any, retried: set[int]) -> bool:
    """Whether a finished trial counts towards the budget."""
    state = trial.state.name
    if state in ("COMPLETE", "PRUNED"):
        return True
    if state == "FAIL":
        return trial.number not in retried and not trial.user_attrs.get(ATTR_SURPLUS)
    return False


def done_trials(trials: list[Any]) -> list[Any]:
    retried = _retried(trials)
    return [t for t in trials if counts(t, retried)]


def taken(trials: list[Any]) -> int:
    """Trials done or under way (running, or queued to re-run)."""
    active = [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    return len(done_trials(trials)) + len(active)


def is_surplus(trials: list[Any], number: int, budget: int) -> bool:
    """Whether trial ``number`` came after the budget was taken (by other processes asking
    at the same moment): the trials before it, done or under way, already fill it."""
    before = [t for t in trials if t.number < number]
    return taken(before) >= budget


def host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_free(path: Path) -> bool:
    """Whether nobody holds the ``flock`` on ``path`` (a run directory's ``.lock``)."""
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def stale_here(trial: Any, run_dir: Path, mine: set[int]) -> bool:
    """A running trial of this machine whose sweep process is gone and whose run directory
    nobody holds: it was killed (Ctrl-C, SIGTERM, kill -9) and can be resumed."""
    if trial.state.name != "RUNNING" or trial.number in mine:
        return False
    attrs = trial.user_attrs
    started = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
    if time.time() - started < 10:  # just asked: its process is about to say who it is
        return False
    if attrs.get(ATTR_HOST) != host():
        return False
    pid = attrs.get(ATTR_PID)
    if pid is None:
        return False
    return not process_alive(int(pid)) and lock_free(run_dir / ".lock")
