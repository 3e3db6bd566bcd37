"""How a distributed run reports a worker that died: the launcher's line and the
surviving worker's line (the full kill is tested in test_training_killed.py)."""

from __future__ import annotations

import signal

from translkit.training.distributed import _ended
from translkit.training.worker import _peer_lost


def test_the_launcher_names_how_each_worker_ended() -> None:
    assert _ended(1) == "exit code 1"
    assert _ended(-signal.SIGKILL) == "killed by SIGKILL"
    assert _ended(-200) == "killed by signal 200"


def test_a_collective_failing_because_a_peer_died_is_recognised() -> None:
    lost = RuntimeError("[pair.cc:561] Connection closed by peer [127.0.0.1]:48007. This is")
    assert _peer_lost(lost)
    try:
        try:
            raise lost
        except RuntimeError:
            raise RuntimeError("barrier failed") from None
    except RuntimeError as during:
        assert _peer_lost(during)  # raised while handling the peer's death
    assert not _peer_lost(RuntimeError("out of memory"))
