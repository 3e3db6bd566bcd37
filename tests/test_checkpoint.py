"""Checkpoint files: atomic writes, refusal of code-carrying and corrupt files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from translkit import get_registry
from translkit.artifacts import load_checkpoint, load_model, save_checkpoint
from translkit.errors import CheckpointError
from translkit.pretrained import load_generators


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
    with pytest.raises(CheckpointError, match="is refused: it holds a Python object") as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "\n" not in message and "weights_only" not in message and "succeed" not in message


class Shell:
    """Pickles as a call of os.system (never executed here: loading refuses it)."""

    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize("payload", [Payload(), Shell(), {"nested": [Shell()]}])
def test_refusal_is_one_short_line_without_torchs_advice(tmp_path: Path, payload) -> None:
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "\n" not in message and len(message) < 200 + len(str(path))
    assert "weights_only" not in message and "likely succeed" not in message
    assert "\x1b" not in message and "add_safe_globals" not in message
    assert message.startswith(f"checkpoint {path} is refused: it holds a Python object (")
    named = "Payload" if isinstance(payload, Payload) else "system"
    assert named in message


def test_cli_refuses_an_unsafe_checkpoint_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from translkit.cli import app

    torch.save({"format": "translkit.generators/1", "x": Shell()}, tmp_path / "evil.pt")
    (tmp_path / "in.png").write_bytes(b"")
    for args in (
        ["translate", str(tmp_path / "evil.pt"), str(tmp_path / "in.png"), str(tmp_path / "o.png")],
        ["export", str(tmp_path / "evil.pt"), "-f", "safetensors", "-o", str(tmp_path / "o.st")],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "is refused: it holds a Python object" in lines[0], lines
        assert "weights_only" not in result.stderr


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


#: Written by translkit 0.1 (commit 6137994: before the method contract and explicit
#: registries) from tests' tiny networks: ResNet 1 block ngf 4 + PatchGAN ndf 4, 32 px,
#: identity 5, batch 2, pool 4 — one epoch of 2 steps.
OLD_CHECKPOINT = Path(__file__).parent / "fixtures" / "checkpoint_translkit_0_1.pt"


def test_a_checkpoint_from_before_the_method_contract_loads_and_resumes(tmp_path: Path):
    from training_support import tiny_recipe

    from translkit.training import train

    registries = get_registry()
    stored = load_checkpoint(OLD_CHECKPOINT)
    assert stored["step"] == 2 and "method" not in stored["recipe"]
    model, _, _ = load_model(OLD_CHECKPOINT, registries)
    for role in ("G_AB", "G_BA", "D_A", "D_B"):
        for key, value in stored["models"][role].items():
            assert torch.equal(model.nets[role].state_dict()[key], value), f"{role}.{key}"
    generators = load_generators(OLD_CHECKPOINT, registries)
    assert generators.nets["a2b"](torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    recipe = tiny_recipe(tmp_path, optim={"epochs": 2}, eval={"every": 0, "num_samples": 0})
    result = train(recipe, resume=str(OLD_CHECKPOINT), progress=False)
    assert result.finished and result.steps == 4
    resumed = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert resumed["optimizers"]["G"]["state"]  # the old Adam state was carried on
