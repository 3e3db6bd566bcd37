"""Registry[T]: adding, looking up, creating, pattern listing and every error path."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from translkit.bounds import Range
from translkit.errors import ComponentError
from translkit.registry import KINDS, Registries, Registry


class Net:
    """A net with options."""

    def __init__(self, width: int = 4, depth: int = 2) -> None:
        if width <= 0:
            raise ValueError("width must be positive")
        self.width, self.depth = width, depth


def flexible(**options):
    """Accepts anything."""
    return options


@pytest.fixture
def reg() -> Registry:
    r: Registry = Registry("generators").owned_by("first_plugin")
    r.add("resnet_9blocks", Net)
    r.add("resnet_6blocks", Net)
    r.add("unet_256", flexible)
    return r


def test_create_passes_options_and_get_returns_entry(reg: Registry) -> None:
    net = reg.create("resnet_9blocks", width=8)
    assert (net.width, net.depth) == (8, 2)
    entry = reg.get("resnet_9blocks")
    assert entry.plugin == "first_plugin"
    assert entry.summary == "A net with options."
    assert set(entry.parameters()) == {"width", "depth"}


def test_names_filters_with_wildcards_and_contains(reg: Registry) -> None:
    assert reg.names() == ["resnet_6blocks", "resnet_9blocks", "unet_256"]
    assert reg.names("resnet*") == ["resnet_6blocks", "resnet_9blocks"]
    assert reg.names("*256") == ["unet_256"]
    assert "unet_256" in reg and "unet_128" not in reg
    assert len(reg) == 3 and list(reg) == reg.names()


def test_duplicate_name_names_both_plugins(reg: Registry) -> None:
    with pytest.raises(ComponentError) as err:
        reg.owned_by("second_plugin").add("resnet_9blocks", Net)
    assert "first_plugin" in str(err.value) and "second_plugin" in str(err.value)


def test_unknown_name_suggests_close_matches(reg: Registry) -> None:
    with pytest.raises(
        ComponentError, match=r"unknown generator 'resnet_9block'.*'resnet_9blocks'"
    ):
        reg.get("resnet_9block")
    with pytest.raises(ComponentError, match="translkit list generators"):
        reg.create("nothing_like_it")


def test_unknown_option_names_option_component_and_valid_ones(reg: Registry) -> None:
    with pytest.raises(ComponentError) as err:
        reg.create("resnet_9blocks", widht=3)
    msg = str(err.value)
    assert "'resnet_9blocks'" in msg and "'widht'" in msg and "'width'" in msg and "depth" in msg


def test_factory_with_kwargs_accepts_any_option(reg: Registry) -> None:
    assert reg.create("unet_256", anything=1) == {"anything": 1}


def test_factory_value_error_becomes_component_error(reg: Registry) -> None:
    with pytest.raises(ComponentError, match="resnet_9blocks.*width must be positive"):
        reg.create("resnet_9blocks", width=0)


@pytest.mark.parametrize("name", ["Bad", "9lives", "with space", "", None])
def test_invalid_names_are_rejected(reg: Registry, name) -> None:
    with pytest.raises(ComponentError, match="not valid"):
        reg.add(name, Net)


def test_non_callable_factory_is_rejected(reg: Registry) -> None:
    with pytest.raises(ComponentError, match="not callable"):
        reg.add("broken", 42)


def test_registries_expose_every_kind() -> None:
    regs = Registries()
    assert list(regs.all()) == list(KINDS)
    assert regs.kind("losses") is regs.losses
    with pytest.raises(ComponentError, match="did you mean 'losses'"):
        regs.kind("loses")


def bounded(
    width: Annotated[int, Range(min=1)] = 4,
    gain: Annotated[float, Range(min=0, min_open=True)] = 0.5,
    mode: Literal["fast", "exact"] = "fast",
):
    """Options with types and bounds: the factory checks none of them."""
    return {"width": width, "gain": gain, "mode": mode}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"width": 0}, "bounded_net 'b': option width must be ≥ 1, got 0"),
        ({"gain": 0}, "bounded_net 'b': option gain must be > 0, got 0.0"),
        ({"gain": float("nan")}, "option gain must be a finite number > 0, got nan"),
        ({"width": "4"}, "option width must be int, got '4' (str)"),
        ({"width": True}, "option width must be int, got True (bool)"),
        ({"mode": "fats"}, "option mode must be one of 'fast' | 'exact', got 'fats' (did you mean"),
    ],
)
def test_create_enforces_annotated_types_and_bounds(options, message) -> None:
    reg: Registry = Registry("bounded_nets")
    reg.add("b", bounded)
    with pytest.raises(ComponentError) as err:
        reg.create("b", **options)
    assert message in str(err.value)


def test_create_passes_checked_values_converted() -> None:
    reg: Registry = Registry("bounded_nets")
    reg.add("b", bounded)
    built = reg.create("b", width=2, gain=1)
    assert built == {"width": 2, "gain": 1.0, "mode": "fast"} and isinstance(built["gain"], float)


def test_factories_without_annotations_check_their_own_options() -> None:
    def bare(width=4, **rest):
        return width

    def unreadable(width: NoSuchType = 4):  # noqa: F821 - an annotation that cannot resolve
        return width

    reg: Registry = Registry("generators")
    reg.add("bare", bare)
    reg.add("unreadable", unreadable)
    assert reg.create("bare", width="anything", extra=1) == "anything"
    assert reg.create("unreadable", width=-3) == -3
