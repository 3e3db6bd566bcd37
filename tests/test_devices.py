"""Device names from recipes and command lines."""

from __future__ import annotations

import pytest
import torch

from translkit.devices import parse_device
from translkit.errors import RecipeError, TranslkitError


def test_auto_and_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert parse_device("auto", option="--device").type == expected
    assert parse_device("cpu", option="--device") == torch.device("cpu")


def test_invalid_name_names_the_option_and_uses_the_error_class() -> None:
    with pytest.raises(RecipeError, match="train.device 'toaster' is not a device"):
        parse_device("toaster", option="train.device", error=RecipeError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_an_error() -> None:
    with pytest.raises(TranslkitError, match="--device is 'cuda' but no CUDA device"):
        parse_device("cuda", option="--device")
