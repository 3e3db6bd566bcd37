"""Importing Zhu et al.'s generator checkpoints: layouts, prefixes, stale keys, refusals."""

from __future__ import annotations

import collections

import pytest
import torch
from models_reference import RefResnetGenerator, RefUnetGenerator, randomise_norms, ref_norm
from torch import nn
from translkit_plugins.importers import guess_junyanz_options, read_state_dict
from typer.testing import CliRunner

from translkit import get_registry
from translkit.artifacts import GENERATORS_FORMAT, GeneratorsFile, load_checkpoint
from translkit.cli import app
from translkit.contracts import GeneratorSpec
from translkit.errors import CheckpointError
from translkit.importing import import_generators
from translkit.pretrained import load_generators

NGF = 8


def import_junyanz(
    sources, dst, *, generator=None, norm=None, ngf=None, options=None, **kw
):  # the Python API as `translkit import junyanz` uses it
    opts = dict(options or {})
    opts.update({k: v for k, v in (("norm", norm), ("ngf", ngf)) if v is not None})
    return import_generators(
        "junyanz", sources, dst, get_registry(), generator=generator, options=opts, **kw
    )


def _ref_resnet(norm="instance", n_blocks=9, dropout=False, seed=0):
    torch.manual_seed(seed)
    net = RefResnetGenerator(NGF, ref_norm(norm), dropout, n_blocks)
    return randomise_norms(net, seed).eval()


def _stale_state_dict(net: RefResnetGenerator, n_blocks: int) -> dict:
    """The state dict a pre-2019 PyTorch wrote: instance norms with running stats."""
    old = RefResnetGenerator(NGF, ref_norm("instance", stale=True), False, n_blocks)
    old.load_state_dict(net.state_dict(), strict=False)
    old.train()(torch.rand(1, 3, 32, 32))  # non-trivial running statistics
    sd = old.state_dict()
    assert any(k.endswith("running_mean") for k in sd)
    return sd


def _compare(dst, ref: nn.Module, size=(64, 64), direction="a2b") -> float:
    nets = load_generators(dst, get_registry()).nets
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        return float((nets[direction](x) - ref(x)).abs().max())


@pytest.mark.parametrize("variant", ["plain", "dataparallel", "stale", "stale_dataparallel"])
def test_resnet_round_trip(tmp_path, variant):
    ref = _ref_resnet()
    sd = _stale_state_dict(ref, 9) if "stale" in variant else ref.state_dict()
    if "dataparallel" in variant:
        sd = collections.OrderedDict((f"module.{k}", v) for k, v in sd.items())
    src = tmp_path / "latest_net_G_A.pth"
    torch.save(sd, src)
    dst = import_junyanz(src, tmp_path / "out.pt", generator="resnet_9blocks", ngf=NGF)
    assert _compare(dst, ref) < 1e-5
    ckpt = load_checkpoint(dst)
    assert ckpt["format"] == GENERATORS_FORMAT
    spec = ckpt["generators"]["a2b"]
    assert spec["name"] == "resnet_9blocks" and spec["options"]["ngf"] == NGF
    assert spec["options"]["norm"] == "instance" and "init" in spec["options"]
    dropped = ckpt["meta"]["sources"]["a2b"]["dropped_keys"]
    assert (dropped > 0) == ("stale" in variant)


def test_keys_match_reference_layout():
    ours = load_generators_free("resnet_9blocks")
    ref = RefResnetGenerator(64, ref_norm("instance"), False, 9)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert {"model.1.weight", "model.10.conv_block.1.weight", "model.19.weight"} <= set(
        ours.state_dict()
    )
    assert {"model.22.weight", "model.26.weight"} <= set(ours.state_dict())


def load_generators_free(name, **options):
    from translkit import get_registry

    with torch.device("meta"):
        return get_registry().generators.create(name, **options)


def test_batch_norm_six_blocks_and_dropout(tmp_path):
    ref = _ref_resnet("batch", n_blocks=6, dropout=True)
    src = tmp_path / "g.pth"
    torch.save(ref.state_dict(), src)
    dst = import_junyanz(
        src,
        tmp_path / "o.pt",
        generator="resnet_6blocks",
        norm="batch",
        ngf=NGF,
        options={"dropout": True},
        direction="b2a",
    )
    assert _compare(dst, ref, direction="b2a") < 1e-5
    assert set(load_checkpoint(dst)["generators"]) == {"b2a"}


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_unet_round_trip(tmp_path, norm):
    torch.manual_seed(3)
    ref = randomise_norms(RefUnetGenerator(7, NGF, ref_norm(norm)), 3).eval()
    src = tmp_path / "unet.pth"
    torch.save(ref.state_dict(), src)
    dst = import_junyanz(src, tmp_path / "u.pt", generator="unet_128", norm=norm, ngf=NGF)
    assert _compare(dst, ref, size=(128, 256)) < 1e-5


def test_two_directions_in_one_file(tmp_path):
    a, b = _ref_resnet(seed=1), _ref_resnet(seed=2)
    torch.save(a.state_dict(), tmp_path / "G_A.pth")
    torch.save(b.state_dict(), tmp_path / "G_B.pth")
    dst = import_junyanz(
        {"a2b": tmp_path / "G_A.pth", "b2a": tmp_path / "G_B.pth"}, tmp_path / "ab.pt", ngf=NGF
    )
    assert _compare(dst, a) < 1e-5
    assert _compare(dst, b, direction="b2a") < 1e-5


def test_wrong_generator_names_the_right_flags(tmp_path):
    torch.save(_ref_resnet("batch", n_blocks=6).state_dict(), tmp_path / "g.pth")
    with pytest.raises(CheckpointError) as err:
        import_junyanz(tmp_path / "g.pth", tmp_path / "o.pt", ngf=NGF)
    msg = str(err.value)
    assert "missing" in msg and "--generator resnet_6blocks" in msg and "--norm batch" in msg
    assert not (tmp_path / "o.pt").exists()


def test_wrong_ngf_reports_shapes(tmp_path):
    torch.save(_ref_resnet().state_dict(), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"mis-shaped.*--ngf 8"):
        import_junyanz(tmp_path / "g.pth", tmp_path / "o.pt", ngf=16)


def test_guess_options():
    sd = _ref_resnet("batch", n_blocks=7, dropout=True).state_dict()
    assert guess_junyanz_options(sd) == {
        "generator": "resnet",
        "n_blocks": 7,
        "ngf": NGF,
        "norm": "batch",
        "dropout": True,
    }
    assert guess_junyanz_options(_ref_resnet("batch").state_dict())["dropout"] is False
    unet = RefUnetGenerator(8, NGF, ref_norm("instance")).state_dict()
    assert guess_junyanz_options(unet) == {"generator": "unet_256", "ngf": NGF, "norm": "instance"}


class Pickled(nn.Module):
    pass


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (Pickled(), "is refused: it holds a Python object"),
        ({"epoch": 3, "model.1.weight": torch.zeros(1)}, "not a plain state dict"),
        ({"format": GENERATORS_FORMAT}, "already a translkit checkpoint"),
        ([torch.zeros(1)], "not a dict"),
        ({}, "empty"),
    ],
)
def test_refuses_non_state_dicts(tmp_path, payload, match):
    torch.save(payload, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=match):
        read_state_dict(tmp_path / "bad.pth")


def test_refuses_existing_destination_and_bad_direction(tmp_path):
    torch.save(_ref_resnet().state_dict(), tmp_path / "g.pth")
    (tmp_path / "o.pt").write_bytes(b"keep")
    with pytest.raises(CheckpointError, match="already exists"):
        import_junyanz(tmp_path / "g.pth", tmp_path / "o.pt", ngf=NGF)
    assert (tmp_path / "o.pt").read_bytes() == b"keep"
    with pytest.raises(CheckpointError, match="direction"):
        import_junyanz(tmp_path / "g.pth", tmp_path / "p.pt", ngf=NGF, direction="x2y")


def test_cli_imports_and_reproduces(tmp_path):
    ref = _ref_resnet()
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    torch.save(_ref_resnet(seed=5).state_dict(), tmp_path / "latest_net_G_B.pth")
    result = CliRunner().invoke(
        app,
        [
            "import",
            "junyanz",
            str(tmp_path / "latest_net_G_A.pth"),
            "--generator",
            "resnet_9blocks",
            "--norm",
            "instance",
            "--ngf",
            str(NGF),
            "--other",
            str(tmp_path / "latest_net_G_B.pth"),
            "-o",
            str(tmp_path / "x.pt"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert _compare(tmp_path / "x.pt", ref) < 1e-5
    assert set(load_checkpoint(tmp_path / "x.pt")["generators"]) == {"a2b", "b2a"}


def test_cli_passes_options_through(tmp_path, monkeypatch):
    seen = {}

    def fake(importer, sources, dst, registries, **kw):
        seen.update(importer=importer, sources=sources, dst=dst, **kw)
        GeneratorsFile({"b2a": GeneratorSpec("unet_256", {}, {})}).save(dst)
        return dst

    monkeypatch.setattr("translkit.importing.import_generators", fake)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "import",
            "junyanz",
            "G.pth",
            "-g",
            "unet_256",
            "--norm",
            "batch",
            "--ngf",
            "32",
            "--direction",
            "b2a",
            "--set",
            "dropout=true",
            "--set",
            "upsample=transposed",
            "-o",
            "out.pt",
            "--overwrite",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["importer"] == "junyanz"
    assert {d: str(p) for d, p in seen["sources"].items()} == {"b2a": "G.pth"}
    assert str(seen["dst"]) == "out.pt" and seen["generator"] == "unet_256"
    assert seen["direction"] == "b2a" and seen["overwrite"] is True
    assert seen["options"] == {
        "dropout": True,
        "upsample": "transposed",
        "norm": "batch",
        "ngf": 32,
    }


def test_importers_are_plugins():
    entry = get_registry().importers.get("junyanz")
    assert entry.module == "translkit_plugins.importers"


def test_cli_error_is_one_line(tmp_path):
    torch.save(Pickled(), tmp_path / "evil.pth")
    result = CliRunner().invoke(
        app, ["import", "junyanz", str(tmp_path / "evil.pth"), "-o", str(tmp_path / "o.pt")]
    )
    assert result.exit_code == 1
    assert "is refused: it holds a Python object" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.pt").exists()


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: _ref_resnet("batch", n_blocks=6, dropout=True), "resnet_6blocks"),
        (lambda: _ref_resnet(n_blocks=4), "resnet"),
        (lambda: randomise_norms(RefUnetGenerator(7, NGF, ref_norm("batch"))).eval(), "unet_128"),
    ],
)
def test_auto_detects_the_generator(tmp_path, make, name):
    torch.manual_seed(4)
    ref = make()
    torch.save(ref.state_dict(), tmp_path / "g.pth")
    dst = import_junyanz(tmp_path / "g.pth", tmp_path / "o.pt", generator="auto")
    assert load_checkpoint(dst)["generators"]["a2b"]["name"] == name
    size = (128, 128) if name.startswith("unet") else (64, 64)
    assert _compare(dst, ref, size=size) < 1e-5


def test_cli_auto_reports_what_it_found(tmp_path):
    torch.save(_ref_resnet("batch", n_blocks=6).state_dict(), tmp_path / "g.pth")
    result = CliRunner().invoke(
        app,
        ["import", "junyanz", str(tmp_path / "g.pth"), "-g", "auto", "-o", str(tmp_path / "o.pt")],
    )
    assert result.exit_code == 0, result.output
    assert "resnet_6blocks, norm batch, ngf 8" in result.output
