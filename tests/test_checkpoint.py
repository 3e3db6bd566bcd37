"""Checkpoint files: atomic writes, refusal of code-carrying and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from translkit import get_registry
from translkit.checkpoint import load_checkpoint, load_generators, save_checkpoint
from translkit.errors import CheckpointError


def test_save_is_atomic_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.pt"
    save_checkpoint({"w": torch.arange(3)}, path)
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temporary left behind


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint({"v": 1}, path)
    with pytest.raises(Exception):  # noqa: B017 - torch.save's own error for an unpicklable object
        save_checkpoint({"v": lambda: 2}, path)
    assert load_checkpoint(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


class Payload:
    """Stands for any pickled object whose loading could run code."""


def test_code_carrying_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused") as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "\n" not in message and "weights_only" not in message and "succeed" not in message


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04broken zip"])
def test_corrupt_files_are_named_as_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt or not a torch file"):
        load_checkpoint(path)


def test_missing_and_non_dict_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a dict"):
        load_checkpoint(tmp_path / "list.pt")


def test_unknown_format_points_to_the_importer(tmp_path: Path) -> None:
    path = tmp_path / "zhu.pth"
    torch.save({"model.1.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="translkit import junyanz"):
        load_generators(path, get_registry())
