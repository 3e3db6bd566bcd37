"""The training engine: networks, optimisers, precision and one CycleGAN step (Zhu et al. 2017).

:class:`Engine` builds the four networks, both Adam optimisers, the GradScaler, EMA and
history pools from a resolved recipe, and :meth:`Engine.train_step` runs one iteration:

1. generator half with both discriminators frozen (``requires_grad_(False)``: no weight
   gradients are computed for them), backward;
2. discriminator half on history-pool fakes from the same forward (the discriminators are
   untouched by step 1, so this equals Zhu's order), backward;
3. one finiteness check of both totals (a non-finite loss raises
   :class:`NonFiniteLossError` *before* any weight changes);
4. gradient clipping by max-norm **before** each optimiser step (the study applied it
   after, where it did nothing), both steps, EMA update.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from translkit.contracts import is_gan_loss
from translkit.devices import parse_device
from translkit.errors import RecipeError, TranslkitError
from translkit.norms import swap_instance_norms
from translkit.precision import Choice, choose_precision, prepare_module
from translkit.recipe import Recipe, TrainSection
from translkit.training.distributed import DistInfo, convert_sync_batchnorm
from translkit.training.ema import EMA
from translkit.training.objective import DiscriminatorPair, GeneratorPair, generator_losses
from translkit.training.pool import ImagePool

__all__ = [
    "Engine",
    "NonFiniteLossError",
    "fuses_passes",
    "resolve_device",
    "training_precision",
    "uses_channels_last",
]


class NonFiniteLossError(TranslkitError):
    """A loss term became NaN or infinite; training stopped before the weights changed."""


def resolve_device(train: TrainSection, info: DistInfo | None = None) -> torch.device:
    """``train.device`` as a device (``auto``: CUDA when available); checks precision."""
    device = parse_device(train.device, option="train.device", error=RecipeError)
    if device.type == "cuda" and info is not None and info.enabled and device.index is None:
        device = torch.device("cuda", info.local_rank)
    training_precision(train, device)  # refuse an unsupported precision before any work
    return device


def training_precision(train: TrainSection, device: torch.device) -> Choice:
    """``train.precision`` resolved for ``device`` (:mod:`translkit.precision`)."""
    return choose_precision(train.precision, device, option="train.precision", error=RecipeError)


def uses_channels_last(train: TrainSection, device: torch.device) -> bool:
    """``auto`` enables channels_last on CUDA only: on CPU it is slower with this torch build
    and InstanceNorm's backward gives wrong input gradients at batch 1."""
    if train.channels_last == "auto":
        return device.type == "cuda"
    return train.channels_last == "on"


def fuses_passes(train: TrainSection, crop_size: int, device: torch.device) -> bool:
    """Whether to batch independent passes (``train.fuse``). ``auto``: on CUDA, and on CPU up
    to 128 px, where it measured faster (benchmarks/train_step.py: 1.19× the reference step
    at 64 px, 0.97× at 256 px, where 2 cores are already busy at batch 1)."""
    if train.fuse != "auto":
        return train.fuse == "on"
    return device.type != "cpu" or crop_size <= 128


def _params(*nets: nn.Module) -> list[nn.Parameter]:
    return [p for net in nets for p in net.parameters()]


class Engine:
    """Everything one training process holds; see the module docstring for the step.

    :param recipe: a resolved recipe.
    :param device: where to train (see :func:`resolve_device`).
    :param info: this process's distributed rank (default: single process).
    :param registry: registries to build components from (default: the recipe's plugins).
    """

    def __init__(
        self,
        recipe: Recipe,
        device: torch.device,
        info: DistInfo | None = None,
        registry: Any = None,
    ) -> None:
        if registry is None:
            from translkit.plugins import get_registry

            registry = get_registry(recipe.plugins)
        self.recipe, self.device, self.info = recipe, device, info or DistInfo()
        train = recipe.train
        self.precision = training_precision(train, device)
        self._build_components(registry)
        self.channels_last = uses_channels_last(train, device)
        if self.channels_last:
            for net in self.nets.values():
                net.to(memory_format=torch.channels_last)
        self._build_exec(train)
        self._build_optimizers()
        self.dtype = self.precision.dtype
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision.name == "fp16")
        self.ema = (
            EMA({"G_AB": self.nets["G_AB"], "G_BA": self.nets["G_BA"]}, train.ema)
            if train.ema > 0
            else None
        )
        pool_seed = recipe.run.seed * 1000 + self.info.rank
        self.pools = {
            "A": ImagePool(train.pool_size, pool_seed),
            "B": ImagePool(train.pool_size, pool_seed + 1),
        }

    def _build_components(self, registry: Any) -> None:
        """The four networks (same seed on every rank) and the three losses."""
        recipe, device = self.recipe, self.device
        torch.manual_seed(recipe.run.seed)  # identical initial weights on every rank
        self.nets: dict[str, nn.Module] = {}
        for key, comp, reg in (
            ("G_AB", recipe.generator, registry.generators),
            ("G_BA", recipe.generator, registry.generators),
            ("D_A", recipe.discriminator, registry.discriminators),
            ("D_B", recipe.discriminator, registry.discriminators),
        ):
            net = reg.create(comp.name, **comp.options)
            if recipe.train.fast_norm == "auto" and device.type == "cpu":
                swap_instance_norms(net)  # exact; faster kernel on CPU (translkit.norms)
            if self.info.enabled:
                net = convert_sync_batchnorm(net, device.type)
            prepare_module(net, self.precision)  # norms and outputs in fp32 under autocast
            self.nets[key] = net.to(device).train()
        loss = recipe.loss
        self.gan = registry.losses.create(loss.gan.name, **loss.gan.options)
        if not is_gan_loss(self.gan):
            raise RecipeError(f"[loss.gan] {loss.gan.name!r} is not an adversarial (GAN) loss")
        self.cycle = registry.losses.create(loss.cycle.name, **loss.cycle.options)
        self.identity = registry.losses.create(loss.identity.name, **loss.identity.options)

    def _build_optimizers(self) -> None:
        """One Adam for both generators, one for both discriminators (Zhu et al.)."""
        optim = self.recipe.optim
        fused = self.device.type in ("cpu", "cuda")  # one vectorised kernel, not a loop
        lr_d = optim.lr if optim.lr_d is None else optim.lr_d
        self.base_lr = {"G": optim.lr, "D": lr_d}
        self.opt_G = torch.optim.Adam(
            _params(self.nets["G_AB"], self.nets["G_BA"]),
            lr=optim.lr,
            betas=tuple(optim.betas),
            fused=fused,
        )
        self.opt_D = torch.optim.Adam(
            _params(self.nets["D_A"], self.nets["D_B"]),
            lr=lr_d,
            betas=tuple(optim.betas),
            fused=fused,
        )

    def _build_exec(self, train: TrainSection) -> None:
        """The modules actually called: compiled and DDP-wrapped views of :attr:`nets`."""
        # static shapes: the fused calls use batches n, 2n and 3n (one graph each)
        run = {
            k: (torch.compile(v, dynamic=False) if train.compile else v)
            for k, v in self.nets.items()
        }
        self.D_exec = {"D_A": run["D_A"], "D_B": run["D_B"]}
        use_identity = float(getattr(self.identity, "weight", 0.0)) > 0
        fuse = fuses_passes(train, self.recipe.data.crop_size, self.device)
        self.gpair: nn.Module = GeneratorPair(
            run["G_AB"], run["G_BA"], identity=use_identity, fuse=fuse
        )
        self.dpair: nn.Module = DiscriminatorPair(run["D_A"], run["D_B"], self.gan, fuse=fuse)
        if self.info.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.gpair = DDP(self.gpair, device_ids=ids)
            self.dpair = DDP(self.dpair, device_ids=ids)

    # -- the step ------------------------------------------------------------------------
    def _autocast(self) -> Any:
        return self.precision.autocast(self.device.type)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def forward_losses(
        self, real_A: torch.Tensor, real_B: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Steps 1–2 of the module docstring: both backward passes, no optimiser step."""
        d_nets = [self.nets["D_A"], self.nets["D_B"]]
        for net in d_nets:
            net.requires_grad_(False)
        with self._autocast():
            outputs = self.gpair(real_A, real_B)
            g_terms = generator_losses(
                outputs,
                real_A,
                real_B,
                self.D_exec["D_A"],
                self.D_exec["D_B"],
                self.gan,
                self.cycle,
                self.identity,
            )
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler.scale(g_terms["G_total"]).backward()
        for net in d_nets:
            net.requires_grad_(True)
        fake_A = self.pools["A"].query(outputs[2])
        fake_B = self.pools["B"].query(outputs[0])
        del outputs
        with self._autocast():
            d_terms = self.dpair(real_A, real_B, fake_A, fake_B)
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler.scale(d_terms["D_total"]).backward()
        return g_terms, d_terms

    def train_step(self, batch: dict[str, torch.Tensor], step: int = 0) -> dict[str, torch.Tensor]:
        """One iteration on ``{"A": images, "B": images}``; returns the detached loss terms."""
        real_A, real_B = self._prepare(batch["A"]), self._prepare(batch["B"])
        g_terms, d_terms = self.forward_losses(real_A, real_B)
        terms = {k: v.detach().float() for k, v in {**g_terms, **d_terms}.items()}
        self._check_finite(terms, step)
        clip = self.recipe.optim.grad_clip
        for opt, nets in ((self.opt_G, ("G_AB", "G_BA")), (self.opt_D, ("D_A", "D_B"))):
            if clip > 0:
                self.scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(_params(*(self.nets[n] for n in nets)), clip)
            self.scaler.step(opt)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update()
        return terms

    def _check_finite(self, terms: dict[str, torch.Tensor], step: int) -> None:
        flag = torch.isfinite(torch.stack([terms["G_total"], terms["D_total"]])).all().float()
        if self.info.enabled:
            import torch.distributed as dist

            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        if flag.item() == 1.0:
            return
        bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
        where = (
            f"loss term {bad[0]!r} is {terms[bad[0]].item()}"
            if bad
            else "a loss term on another process is not finite"
        )
        raise NonFiniteLossError(
            f"step {step}: {where}; training stopped before updating the weights. Lower "
            'optim.lr, set optim.grad_clip, or use train.precision = "fp32"; resume from the '
            "last good checkpoint with --resume"
        )

    # -- state ---------------------------------------------------------------------------
    def train_mode(self, flag: bool = True) -> None:
        for net in self.nets.values():
            net.train(flag)

    def generators(self, use_ema: bool = True) -> dict[str, nn.Module]:
        """``{"a2b", "b2a"}`` generators for evaluation (the EMA copies when enabled)."""
        src = self.ema.shadow if (use_ema and self.ema is not None) else self.nets
        return {"a2b": src["G_AB"], "b2a": src["G_BA"]}

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {k: v.state_dict() for k, v in self.nets.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizers": {"G": self.opt_G.state_dict(), "D": self.opt_D.state_dict()},
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, net in self.nets.items():
            net.load_state_dict(state["models"][k])
        if self.ema is not None:
            if state.get("ema"):
                self.ema.load_state_dict(state["ema"])
            else:  # EMA switched on when resuming: start it from the weights
                self.ema = EMA(
                    {"G_AB": self.nets["G_AB"], "G_BA": self.nets["G_BA"]}, self.ema.decay
                )
        self.opt_G.load_state_dict(state["optimizers"]["G"])
        self.opt_D.load_state_dict(state["optimizers"]["D"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def pool_states(self) -> dict[str, Any]:
        return {k: p.state_dict() for k, p in self.pools.items()}

    def load_pool_states(self, states: dict[str, Any]) -> None:
        for k, p in self.pools.items():
            p.load_state_dict(states[k], self.device)
