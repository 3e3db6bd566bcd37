"""History pool of generated images (Shrivastava et al. 2017, as used by Zhu et al.'s CycleGAN).

The discriminators see a 50/50 mix of the newest fakes and fakes from earlier steps, which
damps oscillation. The pool draws its randomness from its own ``torch.Generator`` so its
state can be checkpointed as plain tensors and resumed bit-identically.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ImagePool"]


class ImagePool:
    """A buffer of up to ``size`` past fakes.

    :param size: images kept (0 disables the pool: :meth:`query` returns its input).
    :param seed: seed of the pool's own random generator.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = torch.Generator()
        self.rng.manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the shape of ``images`` (detached): each image is either the new one
        or, once the pool is full, with probability 0.5 a stored one that it replaces."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.rng).item() > 0.5:
                idx = int(torch.randint(0, self.size, (), generator=self.rng).item())
                out.append(self.images[idx].clone())
                self.images[idx] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.cat(self.images, 0).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        images = state["images"]
        self.images = [img.unsqueeze(0).to(device) for img in images] if images.numel() else []
        self.images = self.images[: self.size]
        if state.get("rng") is not None:  # None: keep this pool's own seed (re-sharded)
            self.rng.set_state(state["rng"])
