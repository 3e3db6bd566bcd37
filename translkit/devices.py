"""Turning a device name (``auto``, ``cpu``, ``cuda``, ``cuda:1``) into a torch device."""

from __future__ import annotations

import torch

from translkit.errors import TranslkitError

__all__ = ["parse_device"]


def parse_device(
    name: str, *, option: str, error: type[TranslkitError] = TranslkitError
) -> torch.device:
    """``auto`` → CUDA when available, else CPU; an invalid name or absent CUDA raises.

    :param option: how the user set it (``train.device``, ``--device``), for messages.
    :param error: the error class to raise (a recipe key raises ``RecipeError``).
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise error(f"{option} {name!r} is not a device: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise error(f"{option} is {name!r} but no CUDA device is available; use 'auto' or 'cpu'")
    return device
