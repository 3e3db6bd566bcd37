"""Built-in networks on CUDA: the contract holds there and outputs agree with the CPU."""

from __future__ import annotations

import copy

import pytest
import torch

import translkit
from translkit.testing import check_discriminator, check_generator, fit_size, small_options

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

EXTRA = {"timm": {"backbone": "test_resnet"}}


def _builtin(kind: str) -> list[str]:
    reg = translkit.get_registry().kind(kind)
    return [e.name for e in reg.entries() if e.plugin.startswith("translkit.")]


@pytest.mark.parametrize(
    ("kind", "name"),
    [("generators", n) for n in _builtin("generators")]
    + [("discriminators", n) for n in _builtin("discriminators")],
)
def test_cuda_contract_and_cpu_agreement(kind, name, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # compare in true fp32
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    reg = translkit.get_registry().kind(kind)
    torch.manual_seed(0)
    cpu = reg.create(name, **small_options(reg.get(name), EXTRA.get(name))).eval()
    gpu = copy.deepcopy(cpu).cuda()
    hw = fit_size((64, 96), getattr(cpu, "size_multiple", 1), non_square=True)
    check = check_generator if kind == "generators" else check_discriminator
    check(gpu, hw)
    x = torch.rand(2, 3, *hw) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(cpu(x), gpu.eval()(x.cuda()).cpu(), atol=1e-4, rtol=1e-4)
