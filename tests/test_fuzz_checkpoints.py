"""Checkpoints and run directories, fuzzed (Hypothesis): files truncated at random offsets
and bit-flipped, valid zips with the wrong members, pickles that ask for code, plain-data
checkpoints of the wrong shape, safetensors headers lying about sizes, run-directory JSON
and TOML that is not. Every loader answers in one line with translkit's error types, and
nothing is imported or executed."""

from __future__ import annotations

import io
import json
import pickle
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_support import generators_checkpoint, make_run_dir, write_images
from typer.testing import CliRunner

from translkit import get_registry
from translkit.artifacts import (
    GENERATORS_FORMAT,
    TRAINING_FORMAT,
    RunSummary,
    load_checkpoint,
    load_model,
)
from translkit.artifacts import read_generators as load_generators
from translkit.cli import app
from translkit.errors import TranslkitError
from translkit.inference.export import export_generator
from translkit.rundir import RunDir
from translkit.training.snapshots import resolve_resume

REGISTRIES = get_registry()


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ckpt-fuzz")
    data = tmp / "data"
    write_images(data / "testA", 1, (32, 32))
    run = make_run_dir(tmp / "runs" / "r", data)
    gens = generators_checkpoint(tmp / "gens.pt", "resnet_6blocks", ngf=2)
    st_file = export_generator(gens, tmp / "g.safetensors", REGISTRIES, format="safetensors")
    return {
        "tmp": tmp,
        "run": run,
        "blobs": {
            "training": (run / "checkpoints" / "latest.pt").read_bytes(),
            "generators": gens.read_bytes(),
            "safetensors": st_file.read_bytes(),
        },
    }


#: Packages loaders import lazily themselves (torch's own submodules, the standard library):
#: any other new module would have been named by a file.
_OURS = {"torch", "translkit", "translkit_plugins", "safetensors", "numpy", "PIL",
         *sys.stdlib_module_names}  # fmt: skip


class _Sentinel:
    """Tracks what a loader must never do: import a module or run code."""

    def __init__(self, tmp: Path) -> None:
        self.marker = tmp / "executed"
        self.modules = set(sys.modules)

    def check(self) -> None:
        assert not self.marker.exists(), "a file ran code"
        new = {m for m in set(sys.modules) - self.modules if m.split(".")[0] not in _OURS}
        assert not new, f"a file imported {sorted(new)}"


def _one_line_refusal(fn: Any, *args: Any) -> Any:
    """``fn(*args)``: a result, or a TranslkitError of one line (anything else fails)."""
    try:
        return fn(*args)
    except TranslkitError as err:
        text = str(err)
        assert text and "\n" not in text and "Traceback" not in text, text
        return err


def _load_every_way(path: Path, sentinel: _Sentinel) -> None:
    _one_line_refusal(load_generators, path, REGISTRIES)
    if path.suffix == ".pt":
        _one_line_refusal(load_checkpoint, path)
        _one_line_refusal(load_model, path, REGISTRIES)
        _one_line_refusal(resolve_resume, str(path), RunDir(path.parent))
    sentinel.check()


@st.composite
def damaged_file(draw: st.DrawFn, blobs: dict[str, bytes]) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(blobs)))
    data = bytearray(blobs[kind])
    for pos, bit in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7)),
                                  max_size=6)):  # fmt: skip
        data[pos] ^= 1 << bit
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return kind, bytes(data)


@fuzz(80)
@given(data=st.data())
def test_truncated_and_bit_flipped_checkpoints_are_refused_in_one_line(files, data) -> None:
    kind, blob = data.draw(damaged_file(files["blobs"]))
    path = files["tmp"] / ("fuzz.safetensors" if kind == "safetensors" else "fuzz.pt")
    path.write_bytes(blob)
    _load_every_way(path, _Sentinel(files["tmp"]))


def _rezip(blob: bytes, edit: str, evil: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(blob))
    names = src.namelist()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for i, name in enumerate(names):
            payload = src.read(name)
            if edit == "drop data.pkl" and name.endswith("data.pkl"):
                continue
            if edit == "rename members":
                name = f"other/{i}"
            if edit == "drop tensors" and "/data/" in name:
                continue
            if edit == "evil data.pkl" and name.endswith("data.pkl"):
                payload = evil
            dst.writestr(name, payload)
        if edit == "extra member":
            dst.writestr("archive/extra.py", b"import os")
    return out.getvalue()


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))  # loading this would create the marker file


@fuzz(40)
@given(
    kind=st.sampled_from(["training", "generators"]),
    edit=st.sampled_from(
        ["drop data.pkl", "rename members", "drop tensors", "evil data.pkl", "extra member"]
    ),
)
def test_valid_zips_with_wrong_members_are_refused_and_run_nothing(files, kind, edit) -> None:
    sentinel = _Sentinel(files["tmp"])
    evil = pickle.dumps({"format": TRAINING_FORMAT, "x": _Boom(str(sentinel.marker))}, protocol=2)
    path = files["tmp"] / "zip.pt"
    path.write_bytes(_rezip(files["blobs"][kind], edit, evil))
    _load_every_way(path, sentinel)


def test_a_legacy_pickle_asking_for_code_is_refused(files) -> None:
    sentinel = _Sentinel(files["tmp"])
    path = files["tmp"] / "legacy.pt"
    path.write_bytes(pickle.dumps({"format": GENERATORS_FORMAT, "g": _Boom(str(sentinel.marker))}))
    err = _one_line_refusal(load_generators, path, REGISTRIES)
    assert isinstance(err, TranslkitError) and "could run code" in str(err)
    sentinel.check()


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
tensors = st.builds(torch.zeros, st.integers(0, 3), st.integers(1, 2))
value = plain | tensors | st.dictionaries(st.text(max_size=12), tensors, max_size=2)


@st.composite
def misshapen(draw: st.DrawFn, blobs: dict[str, bytes]) -> dict[str, Any]:
    """A real checkpoint's data with keys dropped or replaced by plain values of any shape."""
    kind = draw(st.sampled_from(["training", "generators"]))
    ckpt = torch.load(io.BytesIO(blobs[kind]), weights_only=True)
    for key in draw(st.lists(st.sampled_from(sorted(ckpt)), max_size=3, unique=True)):
        if key != "format" or draw(st.booleans()):
            if draw(st.booleans()):
                ckpt[key] = draw(value)
            else:
                del ckpt[key]
    nested = ckpt.get("generators") if kind == "generators" else ckpt.get("recipe")
    if isinstance(nested, dict) and nested and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(nested)))
        nested[key] = draw(value)
    return ckpt


@fuzz(80)
@given(data=st.data())
def test_plain_data_checkpoints_of_the_wrong_shape_are_refused_in_one_line(files, data) -> None:
    ckpt = data.draw(misshapen(files["blobs"]))
    path = files["tmp"] / "shape.pt"
    torch.save(ckpt, path)
    _load_every_way(path, _Sentinel(files["tmp"]))


def _safetensors(header: dict[str, Any] | bytes, body: bytes, declared: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if declared is None else declared) + raw + body


@st.composite
def lying_safetensors(draw: st.DrawFn, blob: bytes) -> bytes:
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8 : 8 + n])
    body = blob[8 + n :]
    trick = draw(st.sampled_from(["declared", "offsets", "dtype", "shape", "metadata", "junk"]))
    if trick == "declared":  # the header length points past the file, or is absurd
        return _safetensors(header, body, draw(st.integers(n + 1, 2**64 - 1)))
    name = draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
    if trick == "offsets":
        header[name]["data_offsets"] = [draw(st.integers(0, 2**40)), draw(st.integers(0, 2**62))]
    elif trick == "dtype":
        header[name]["dtype"] = draw(st.sampled_from(["F64", "I8", "BOOL", "X9", ""]))
    elif trick == "shape":
        header[name]["shape"] = draw(st.lists(st.integers(0, 2**31), max_size=5))
    elif trick == "metadata":
        meta = header["__metadata__"]
        key = draw(st.sampled_from(sorted(meta)))
        meta[key] = draw(st.sampled_from(["", "[]", "{", "null", '{"ngf": "x"}', "1e999", "ü"]))
    else:
        return _safetensors(draw(st.binary(max_size=64)), body)
    return _safetensors(header, body)


@fuzz(100)
@given(data=st.data())
def test_safetensors_headers_that_lie_are_refused_in_one_line(files, data) -> None:
    path = files["tmp"] / "lie.safetensors"
    path.write_bytes(data.draw(lying_safetensors(files["blobs"]["safetensors"])))
    _load_every_way(path, _Sentinel(files["tmp"]))


junk_text = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"[1, 2]", b"null", b"3", b'"x"', b"{", b"\xff\xfe", b'{"a": NaN}']),
)


@fuzz(30)
@given(which=st.sampled_from(["summary.json", "recipe.resolved.toml", "metrics.jsonl",
                              "eval.jsonl"]), blob=junk_text)  # fmt: skip
def test_run_directory_files_that_are_not_what_they_claim(files, which, blob) -> None:
    run = RunDir(files["run"])
    path = run.path / which
    original = path.read_bytes() if path.exists() else None
    path.write_bytes(blob)
    try:
        summary = _one_line_refusal(RunSummary.read, run.summary_file)
        assert summary is None or which != "summary.json"  # a broken summary reads as none
        _one_line_refusal(run.read_recipe)
        _one_line_refusal(load_generators, run.path, REGISTRIES)
    finally:
        path.unlink()
        if original is not None:
            path.write_bytes(original)


def test_broken_run_directories_through_the_cli(files, tmp_path: Path) -> None:
    """`translate`, `export` and `report` on a run directory with broken files: one line."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "recipe.resolved.toml").write_text((files["run"] / "recipe.resolved.toml").read_text())
    blob = files["blobs"]["training"]
    (run / "checkpoints" / "latest.pt").write_bytes(blob[: len(blob) // 3])
    (run / "summary.json").write_bytes(b"{not json")
    (run / "metrics.jsonl").write_bytes(b'{"step": 1}\n[1]\n\xff\n{"step"')
    runner = CliRunner()
    for args in (
        ["translate", str(run), str(tmp_path), str(tmp_path / "out")],
        ["export", str(run), "--format", "safetensors", "-o", str(tmp_path / "g.st")],
        ["report", str(run)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert "Traceback" not in result.output, result.output
