"""Built-in translation methods: CycleGAN (Zhu et al. 2017), CUT and FastCUT (Park et al. 2020).

Each is registered through ``translkit_register`` exactly as a third party's method is;
see ``docs/plugins.md`` ("Writing a method") for the contract.
"""

from __future__ import annotations

import translkit
from translkit.registry import Registries

from .cut import cut, fastcut
from .cyclegan import cyclegan

__all__ = ["cut", "cyclegan", "fastcut"]


@translkit.hookimpl
def translkit_register(registry: Registries) -> None:
    registry.methods.add("cyclegan", cyclegan)
    registry.methods.add("cut", cut)
    registry.methods.add("fastcut", fastcut)
