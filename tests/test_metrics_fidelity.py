"""IS/FID/KID/PRC plugins: numbers equal torch-fidelity's, caching, small sets, weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch_fidelity
import torch_fidelity.utils
from PIL import Image
from scoring_support import inception_weights, write_images
from translkit_plugins import inception
from translkit_plugins.inception import ENV_INCEPTION_WEIGHTS, WeightsError, resolve_weights

from translkit import get_registry
from translkit.contracts import KEY_FID, KEY_IS, KEY_KID, Metric
from translkit.errors import MetricError, TranslkitError
from translkit.scoring import score_folders

N = 4


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    fake, real = tmp_path / "fake", tmp_path / "real"
    write_images(fake, N, (40, 40), seed=1)
    write_images(real, N, (40, 40), seed=2, bias=90)
    return fake, real


def _direct(fake: Path, real: Path, **kw: object) -> dict[str, float]:
    return torch_fidelity.calculate_metrics(
        input1=str(fake),
        input2=str(real),
        cuda=False,
        cache=False,
        verbose=False,
        feature_extractor_weights_path=str(inception_weights()),
        **kw,
    )


@pytest.mark.slow
def test_fid_kid_is_equal_torch_fidelity_exactly(folders, tmp_path: Path) -> None:
    fake, real = folders
    ours = score_folders(
        fake,
        real,
        ["fid", "kid", "is"],
        batch_size=4,
        cache_dir=tmp_path / "cache",
        metric_weights=inception_weights(),
        registries=get_registry(),
    )
    theirs = _direct(
        fake, real, fid=True, kid=True, isc=True, batch_size=4, kid_subset_size=N, isc_splits=N // 2
    )
    assert ours.values[KEY_FID] == theirs["frechet_inception_distance"]
    assert ours.values[KEY_KID] == theirs["kernel_inception_distance_mean"]
    assert ours.values["kid_std"] == theirs["kernel_inception_distance_std"]
    assert ours.values[KEY_IS] == theirs["inception_score_mean"]
    assert ours.values[KEY_FID] > 0.1  # Kaiming-initialised weights do not collapse features
    assert ours.goals == {
        "fid": "min",
        "kid": "min",
        "kid_std": "min",
        "is": "max",
        "is_std": "min",
    }


@pytest.mark.slow
def test_precision_recall_equal_torch_fidelity(folders, tmp_path: Path) -> None:
    fake, real = folders
    ours = score_folders(
        fake,
        real,
        ["prc"],
        batch_size=4,
        cache_dir=tmp_path / "c",
        metric_weights=inception_weights(),
        registries=get_registry(),
        options={"prc": {"extractor": "inception"}},
    )
    theirs = _direct(
        fake,
        real,
        prc=True,
        batch_size=4,
        feature_extractor="inception-v3-compat",
        feature_layer_prc="2048",
    )
    assert ours.values == {
        "precision": theirs["precision"],
        "recall": theirs["recall"],
        "f_score": theirs["f_score"],
    }


@pytest.mark.slow
def test_real_statistics_are_cached_by_folder_content(folders, tmp_path, monkeypatch) -> None:
    fake, real = folders
    calls: list[int] = []
    extract = torch_fidelity.utils.get_featuresdict_from_dataset

    def counting(dataset, *args, **kwargs):
        calls.append(len(dataset))
        return extract(dataset, *args, **kwargs)

    monkeypatch.setattr(torch_fidelity.utils, "get_featuresdict_from_dataset", counting)
    cache = tmp_path / "cache"
    kw = {
        "cache_dir": cache,
        "metric_weights": inception_weights(),
        "batch_size": N,
        "registries": get_registry(),
    }
    first = score_folders(fake, real, ["kid"], **kw).values
    assert len(calls) == 2  # translated and real folders
    assert any("translkit-real-" in p.name for p in cache.iterdir())
    calls.clear()
    copy = tmp_path / "renamed_real"
    shutil.copytree(real, copy)  # same content under another name: still a hit
    again = score_folders(fake, copy, ["kid"], **kw).values
    assert calls == [] and again == first
    Image.new("RGB", (40, 40), (0, 0, 0)).save(copy / "000.png")  # content changes: recomputed
    score_folders(fake, copy, ["kid"], **kw)
    assert calls == [N]


@pytest.mark.slow
def test_small_sets_adapt_kid_subset_and_is_splits(tmp_path: Path) -> None:
    fake, real = tmp_path / "f", tmp_path / "r"
    write_images(fake, 3, (32, 32), seed=3)
    write_images(real, 4, (32, 32), seed=4)
    result = score_folders(
        fake,
        real,
        ["kid", "is"],
        cache_dir=tmp_path / "c",
        metric_weights=inception_weights(),
        registries=get_registry(),
    )
    assert result.info["kid_subset_size"] == 3
    assert result.info["is_splits"] == 1  # 3 // 2: every split holds at least 2 images
    assert all(v == v for v in result.values.values())  # finite, not NaN


@pytest.mark.slow
def test_mixed_sizes_are_resized_consistently(tmp_path: Path) -> None:
    fake, real = tmp_path / "f", tmp_path / "r"
    write_images(fake, 2, [(32, 32), (40, 24)], seed=5)
    write_images(real, 2, [(50, 30), (30, 50)], seed=6)
    result = score_folders(
        fake,
        real,
        ["kid"],
        cache_dir=tmp_path / "c",
        metric_weights=inception_weights(),
        registries=get_registry(),
    )
    assert result.info["resized_to"] == 299
    assert result.values["kid"] != 0 and abs(result.values["kid"]) < float("inf")


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write_images(tmp_path / "r", 2)
    with pytest.raises(MetricError, match="holds no images"):
        score_folders(
            tmp_path / "empty",
            tmp_path / "r",
            ["fid"],
            metric_weights=inception_weights(),
            registries=get_registry(),
        )


def test_every_builtin_metric_is_registered_with_goals() -> None:
    metrics = get_registry().metrics
    assert set(metrics.names()) >= {"is", "fid", "kid", "prc", "psnr", "ssim", "l1"}
    for name in metrics.names():
        metric = metrics.create(name)
        assert isinstance(metric, Metric), name  # goals, min_images, info, prepare, __call__
        assert metric.goals and set(metric.goals.values()) <= {"min", "max"}
        assert metric.min_images >= 1


# -- weights resolution ----------------------------------------------------------------------
@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(inception, "hub_checkpoint_dir", lambda: tmp_path / "hub")
    monkeypatch.delenv(ENV_INCEPTION_WEIGHTS, raising=False)
    return tmp_path / "hub"


def test_explicit_then_env_then_hub_cache(empty_hub: Path, tmp_path, monkeypatch) -> None:
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"x")
    assert resolve_weights(explicit, online=False) == explicit.resolve()
    monkeypatch.setenv(ENV_INCEPTION_WEIGHTS, str(explicit))
    assert resolve_weights(None, online=False) == explicit.resolve()
    monkeypatch.delenv(ENV_INCEPTION_WEIGHTS)
    empty_hub.mkdir()
    cached = empty_hub / inception.EXTRACTORS["inception"].filename
    cached.write_bytes(b"x")
    assert resolve_weights("", online=False) == cached


def test_online_defers_to_torch_fidelity_download(empty_hub: Path) -> None:
    assert resolve_weights(None, online=True) is None


def test_offline_without_weights_names_the_file_and_the_fix(empty_hub: Path, monkeypatch) -> None:
    with pytest.raises(WeightsError) as err:
        resolve_weights(None, online=False)
    msg = str(err.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in msg
    assert "--metric-weights" in msg and ENV_INCEPTION_WEIGHTS in msg
    monkeypatch.setattr(inception, "is_online", lambda url, timeout=3.0: False)
    with pytest.raises(TranslkitError, match="offline"):
        score_folders(Path("unused"), Path("unused"), ["fid"], get_registry())


def test_missing_explicit_weights_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="do not exist"):
        resolve_weights(tmp_path / "nope.pth")
