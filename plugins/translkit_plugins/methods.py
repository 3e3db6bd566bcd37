"""Built-in translation methods: CycleGAN (Zhu et al. 2017).

Each is registered through ``translkit_register`` exactly as a third party's method is;
see ``docs/plugins.md`` ("Writing a method") for the contract.
"""

from __future__ import annotations

import translkit
from translkit.registry import Registries

from .cyclegan import cyclegan

__all__ = ["cyclegan"]


@translkit.hookimpl
def translkit_register(registry: Registries) -> None:
    registry.methods.add("cyclegan", cyclegan)
