"""Files written by earlier translkit versions load through the artifacts' migrations and
translate a fixed input to the pixels the version that wrote them computed
(tests/fixtures/legacy/README.md says which commits wrote them, and how): bit-identical on
a CPU of the writer's class, and within what fp32 convolutions guarantee across CPU
classes (:data:`KERNEL_ATOL`: other SIMD widths sum in another order). An upgraded file
saved in today's format gives bit-identical pixels to the old file on any machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import translkit
from translkit.artifacts import (
    GeneratorsFile,
    RunSummary,
    SafetensorsExport,
    Scores,
    TrainingSnapshot,
    load_checkpoint,
    load_model,
    read_generators,
)
from translkit.artifacts.snapshot import PAST_WARMUP
from translkit.errors import CheckpointError

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
#: commit folder -> (how its snapshot stored the method state, whether it described its
#: generators on their own, whether its exports named their plugin module)
WRITERS = {
    "2026-11-25-6137994": ("pools", False, False),
    "2026-11-30-8000659": ("method", False, True),
    "2026-12-07-bd12645": ("method", True, True),
}
REGISTRIES = translkit.get_registry()
#: Outputs in [-1, 1] of tiny fp32 generators: measured 4e-7 apart between the AVX-512
#: machine that wrote them and the same machine capped to AVX2.
KERNEL_ATOL = 1e-5


def _translate(folder: Path, source: Path, *, use_ema: bool = True) -> torch.Tensor:
    x = torch.load(folder / "input.pt", weights_only=True)
    with torch.no_grad():
        return read_generators(source, REGISTRIES, use_ema=use_ema).nets["a2b"](x)


def _same_pixels(folder: Path, key: str, source: Path, *, use_ema: bool = True) -> torch.Tensor:
    expected = torch.load(folder / "expected.pt", weights_only=True)[key]
    got = _translate(folder, source, use_ema=use_ema)
    gap = (got - expected).abs().max()
    assert gap <= KERNEL_ATOL, f"{folder.name} {key}: {gap}"
    return got


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_old_files_translate_to_the_same_pixels(writer: str) -> None:
    folder = LEGACY / writer
    _same_pixels(folder, "training", folder / "run")  # a run directory: its latest.pt, EMA
    _same_pixels(folder, "training_raw", folder / "run", use_ema=False)
    _same_pixels(folder, "generators", folder / "generators.pt")
    _same_pixels(folder, "safetensors", folder / "a2b.safetensors")


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_old_snapshots_are_upgraded_by_migrate_v1(writer: str) -> None:
    state_key, described, _ = WRITERS[writer]
    path = LEGACY / writer / "run" / "checkpoints" / "latest.pt"
    raw = load_checkpoint(path)
    assert raw["format"] == "translkit.training/1" and state_key in raw["ranks"][0]
    snapshot = TrainingSnapshot.load(path)
    assert snapshot.rank_state(0).method.keys() == {"pools"}  # CycleGAN's history pools
    assert snapshot.ranks[0].rng is not None
    assert (snapshot.generators is not None) == described
    assert snapshot.state.ema_updates == raw.get("ema_updates", PAST_WARMUP)
    snapshot.require_resumable()
    model, loaded, _ = load_model(path, REGISTRIES, use_ema=False)
    for role, weights in raw["models"].items():
        for key, value in weights.items():
            assert torch.equal(model.nets[role].state_dict()[key], value), f"{role}.{key}"
    assert loaded.step == raw["step"] == 1


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_old_exports_and_generator_files_are_upgraded(writer: str) -> None:
    _, _, named_module = WRITERS[writer]
    export = SafetensorsExport.load(LEGACY / writer / "a2b.safetensors")
    assert export.direction == "a2b" and export.spec.name == "resnet"
    assert bool(export.spec.module) == named_module
    assert "plugins" not in export.metadata()  # old files named modules to import: dropped
    gens = GeneratorsFile.load(LEGACY / writer / "generators.pt")
    assert set(gens.generators) == {"a2b", "b2a"}
    assert gens.meta == {"importer": "legacy-fixture"}


def test_an_upgraded_file_saves_in_todays_format_with_the_same_pixels(tmp_path: Path) -> None:
    folder = LEGACY / "2026-11-25-6137994"
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    TrainingSnapshot.load(run / "checkpoints" / "latest.pt").save(run / "checkpoints" / "latest.pt")
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["format"] == "translkit.training/2"
    old_run = _translate(folder, folder / "run")
    assert torch.equal(_same_pixels(folder, "training", run), old_run)
    export = SafetensorsExport.load(folder / "a2b.safetensors")
    export.save(tmp_path / "a2b.safetensors")
    old_export = _translate(folder, folder / "a2b.safetensors")
    assert torch.equal(
        _same_pixels(folder, "safetensors", tmp_path / "a2b.safetensors"), old_export
    )
    GeneratorsFile.load(folder / "generators.pt").save(tmp_path / "g.pt")
    old_file = _translate(folder, folder / "generators.pt")
    assert torch.equal(_same_pixels(folder, "generators", tmp_path / "g.pt"), old_file)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("translkit.training/3", "newer than this translkit reads"),
        ("translkit.training/0", "newer than this translkit reads"),
        ("translkit.trainingx/1", "is not a translkit.training file"),
    ],
)
def test_a_format_this_version_cannot_read_is_one_line(tmp_path: Path, tag, message) -> None:
    raw = load_checkpoint(LEGACY / "2026-12-07-bd12645" / "run" / "checkpoints" / "latest.pt")
    raw["format"] = tag
    path = tmp_path / "future.pt"
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match=message) as err:
        TrainingSnapshot.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    raw = load_checkpoint(LEGACY / "2026-12-07-bd12645" / "run" / "checkpoints" / "latest.pt")
    del raw["models"]
    torch.save(raw, tmp_path / "no_models.pt")
    with pytest.raises(CheckpointError, match=r"no_models\.pt has no 'models'"):
        TrainingSnapshot.load(tmp_path / "no_models.pt")


def test_the_fixtures_readme_names_every_writer() -> None:
    readme = (LEGACY / "README.md").read_text(encoding="utf-8")
    for writer in WRITERS:
        assert writer.rsplit("-", 1)[1] in readme


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_old_run_summaries_are_upgraded(writer: str, tmp_path: Path) -> None:
    path = LEGACY / writer / "run" / "summary.json"
    assert "format" not in json.loads(path.read_text())  # version 1 had no tag
    summary = RunSummary.load(path)
    assert (summary.epochs, summary.steps, summary.finished) == (1, 1, True)
    summary.save(tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text())["format"] == "translkit.summary/2"
    assert RunSummary.load(tmp_path / "summary.json") == summary


def test_scores_round_trip_and_old_scores_load(tmp_path: Path) -> None:
    old = {  # what translkit 0.1 (d925971) wrote
        "run_dir": "runs/r",
        "checkpoint": "runs/r/checkpoints/best.pt",
        "data_root": "data/x",
        "metrics": ["psnr"],
        "scores": {"a2b/psnr": 20.5},
        "goals": {"a2b/psnr": "max"},
        "info": {},
        "seconds": 1.5,
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    scores = Scores.load(tmp_path / "old.json")
    assert scores.scores == {"a2b/psnr": 20.5} and scores.resize == 0 and scores.ema
    assert scores.baselines is None and "baselines" not in scores.to_dict()
    scores.save(tmp_path / "new.json")
    assert Scores.load(tmp_path / "new.json") == scores
    (tmp_path / "future.json").write_text(json.dumps({**old, "format": "translkit.scores/9"}))
    with pytest.raises(CheckpointError, match="newer than this translkit reads"):
        Scores.load(tmp_path / "future.json")
    (tmp_path / "bad.json").write_text(json.dumps({**old, "scores": [1]}))
    with pytest.raises(CheckpointError, match=r"bad\.json: 'scores' is a list"):
        Scores.load(tmp_path / "bad.json")


def test_old_scores_reference_values_and_trust_marks_become_fields(tmp_path: Path) -> None:
    """Until 0.2 the domain metric's real-image values and trust marks were info keys."""
    old = {
        "scores": {"a2b/domain_rate": 0.9},
        "info": {
            "a2b/domain_rate@real": 0.95,
            "a2b/domain_texture_untrusted": 1.0,
            "a2b/domain_colour_accuracy": 0.96,
        },
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    scores = Scores.load(tmp_path / "old.json")
    assert scores.reference == {"a2b/domain_rate": 0.95}
    assert list(scores.untrusted) == ["a2b/domain_texture_untrusted"]
    assert scores.info == {"a2b/domain_colour_accuracy": 0.96}


def test_environment_round_trips_and_old_files_keep_their_facts(tmp_path: Path) -> None:
    from translkit.artifacts import Environment

    old = {  # untagged, as written until 0.2: the precision beside the versions
        "python": "3.11.9",
        "packages": {"torch": "2.14.1"},
        "plugins": [
            {"name": "p", "module": "my_plugin", "registered": {"generators": ["g1", "g2"]}},
            {"name": "broken", "registered": {"generators": ["x"]}},  # no module: unknown
        ],
        "precision": {"chosen": "bf16"},
    }
    (tmp_path / "environment.json").write_text(json.dumps(old))
    env = Environment.load(tmp_path / "environment.json")
    assert env.decisions == {"precision": {"chosen": "bf16"}} and env.cpu_threads == 0
    assert env.component_modules() == {
        ("generators", "g1"): "my_plugin",
        ("generators", "g2"): "my_plugin",
    }
    env.save(tmp_path / "new.json")
    assert json.loads((tmp_path / "new.json").read_text())["format"] == "translkit.environment/2"
    assert Environment.load(tmp_path / "new.json") == env
    (tmp_path / "bad.json").write_text(json.dumps({**old, "plugins": {"p": 1}}))
    assert Environment.read(tmp_path / "bad.json") is None  # describes a run: never fatal
