"""The training engine: a method's networks, optimisers, precision and one training step.

:class:`Engine` builds the model a resolved recipe describes (:func:`translkit.networks.
build_model`), resolves its :class:`~translkit.runtime.Runtime` (or takes the one given),
applies its transformations (norms, precision, memory format, ``torch.compile``; synchronised
batch norm across processes), creates one
Adam per optimiser group of the method, the GradScaler and the EMA, and runs one step:

1. the method's shared forward pass, under autocast;
2. for each phase in the method's order: freeze the phase's ``frozen`` roles, compute its
   loss terms, back-propagate their sum, check every term is finite (a non-finite term
   raises :class:`NonFiniteLossError` *before* the phase's optimisers step), average the
   gradients across processes, check them (see below), clip by max-norm **before**
   stepping (the study clipped after, where it did nothing), step the phase's optimisers;
3. update the EMA of the generators.

Finite losses can still give non-finite gradients. In bf16 an all-flat crop (a studio
backdrop) leaves rounding noise where fp32 has exact zeros; every instance norm divides that
noise by ``sqrt(eps)`` and the ReLUs pass it, so the gradient grows about 300× per norm and
overflows. One such update would make the weights (or Adam's second moment) non-finite for
good, so under a reduced precision without a gradient scaler the optimiser skips it and says
so (fp16's scaler skips such steps by itself); :data:`MAX_SKIPPED_IN_A_ROW` skips in a row
stop the run. In fp32 a non-finite gradient stops the run at once.

With ``train.diffaug`` set, the callables the method runs for its discriminator roles
augment every input first (:mod:`translkit.augment`); evaluation uses the bare networks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from translkit.artifacts import EngineState, state_dict_problem
from translkit.augment import Augmented, DiffAugment
from translkit.contracts import MethodContext, Phase
from translkit.devices import parse_device
from translkit.errors import CheckpointError, RecipeError, TranslkitError
from translkit.networks import Model, build_model
from translkit.precision import choose_precision
from translkit.recipe import Recipe, TrainSection
from translkit.registry import Registries
from translkit.runtime import Compiled, Runtime, compiled, resolve_runtime
from translkit.threads import count_is_open
from translkit.training.distributed import DistInfo, convert_sync_batchnorm
from translkit.training.ema import EMA

__all__ = [
    "MAX_SKIPPED_IN_A_ROW",
    "Engine",
    "NonFiniteLossError",
    "fuses_passes",
    "training_device",
]


class NonFiniteLossError(TranslkitError):
    """A loss term became NaN or infinite; training stopped before the weights changed."""


#: Reduced-precision updates skipped in a row (non-finite gradients) before the run stops.
MAX_SKIPPED_IN_A_ROW = 10


def _gradient_norm(params: list[nn.Parameter]) -> torch.Tensor | None:
    """The total 2-norm of the gradients (``None`` without any): not finite when one is
    not, or when it overflows fp32 (which would fill Adam's second moment with infinities).
    Computed once a step, for the check and for clipping."""
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else None


def _finite_norm(norm: torch.Tensor | None) -> bool:
    """Whether a total norm from :func:`_gradient_norm` is finite (no gradients: yes)."""
    return norm is None or bool(torch.isfinite(norm))


def _finite_gradients(params: list[nn.Parameter]) -> bool:
    """Whether every gradient and their total norm are finite."""
    return _finite_norm(_gradient_norm(params))


def training_device(train: TrainSection, info: DistInfo | None = None) -> torch.device:
    """``train.device`` as a device (``auto``: CUDA when available); checks precision."""
    device = parse_device(train.device, option="train.device", error=RecipeError)
    if device.type == "cuda" and info is not None and info.enabled and device.index is None:
        device = torch.device("cuda", info.local_rank)
    if train.precision != "auto":  # refuse an unsupported precision before any work
        choose_precision(train.precision, device, option="train.precision", error=RecipeError)
    return device


def fuses_passes(train: TrainSection, crop_size: int, device: torch.device) -> bool:
    """Whether to batch independent passes (``train.fuse``). ``auto``: on CUDA, and on CPU up
    to 128 px, where it measured faster (benchmarks/train_step.py: 1.19× the reference step
    at 64 px, 0.97× at 256 px, where 2 cores are already busy at batch 1)."""
    if train.fuse != "auto":
        return train.fuse == "on"
    return device.type != "cpu" or crop_size <= 128


def _params(nets: list[nn.Module]) -> list[nn.Parameter]:
    return [p for net in nets for p in net.parameters()]


class Engine:
    """Everything one training process holds; see the module docstring for the step.

    :param recipe: a resolved recipe.
    :param device: where to train (see :func:`training_device`).
    :param registries: where the method and its components come from.
    :param info: this process's distributed rank (default: single process).
    :param runtime: how to compute (default: resolved here, :func:`translkit.runtime.
        resolve_runtime`, which measures this run's networks where the recipe says ``auto``).
    :param steps: the steps this engine will train (``train.compile = "auto"`` weighs them).
    """

    def __init__(
        self,
        recipe: Recipe,
        device: torch.device,
        registries: Registries,
        info: DistInfo | None = None,
        runtime: Runtime | None = None,
        *,
        steps: int = 0,
    ) -> None:
        self.recipe, self.device, self.info = recipe, device, info or DistInfo()
        train = recipe.train
        torch.manual_seed(recipe.run.seed)  # identical initial weights on every rank
        self.model = build_model(recipe, registries)
        self.runtime = runtime or resolve_runtime(
            recipe,
            self.model,
            device,
            threads=torch.get_num_threads(),
            fuse=fuses_passes(train, recipe.data.crop_size, device),
            steps=steps,
            all_agree=self.info.all_true,
            threads_open=count_is_open(),
        )
        self.precision = self.runtime.precision
        self.method = self.model.method
        self.nets = {role: self._place(net) for role, net in self.model.nets.items()}
        self.model.nets = self.nets
        self._step_hooks = [  # any module, also one inside a wrapper (translkit.contracts)
            hook
            for net in self.nets.values()
            for module in net.modules()
            if callable(hook := getattr(module, "set_training_step", None))
        ]
        self.losses = self.model.losses
        self.dtype = self.precision.dtype
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision.name == "fp16")
        self.skipped: dict[str, int] = {}  # optimiser -> updates skipped in a row
        self._build_optimizers()
        translating = list(dict.fromkeys(self.method.directions.values()))
        self.ema = EMA({r: self.nets[r] for r in translating}, train.ema) if train.ema > 0 else None
        wrap = self.runtime.compile or self.runtime.compile_trial
        run: dict[str, Any] = {
            role: (
                compiled(net, on_fallback=self._say, active=self.runtime.compile) if wrap else net
            )
            for role, net in self.nets.items()
        }  # static shapes: fused calls use batches n, 2n and 3n (one graph each)
        self._compiled = [net for net in run.values() if isinstance(net, Compiled)]
        self.augment = DiffAugment(train.diffaug) if train.diffaug else None
        if self.augment is not None:  # every discriminator input, in every phase
            for slot in self.method.networks:
                if slot.section == "discriminator":
                    run[slot.role] = Augmented(run[slot.role], self.augment)
        self.method.setup(
            self.nets,
            self.losses,
            MethodContext(
                run=run,
                device=device,
                fuse=self.runtime.fuse,
                seed=recipe.run.seed,
                rank=self.info.rank,
                pool_size=train.pool_size,
                augment=self.augment,
            ),
        )

    def set_compiled(self, on: bool, why: str = "") -> bool:
        """Run the training step's networks compiled or eager (a compile trial,
        :mod:`translkit.compile_trial`); the runtime records it, with ``why``.
        Returns whether they compile: ``False`` without compiled wrappers, or after
        compilation failed and they fell back to eager."""
        for net in self._compiled:
            net.active = on
        works = bool(self._compiled) and all(net.compiled is not None for net in self._compiled)
        reasons = {**self.runtime.reasons, "compile": why} if why else self.runtime.reasons
        self.runtime = dataclasses.replace(self.runtime, compile=on and works, reasons=reasons)
        return works

    def _say(self, line: str) -> None:
        if self.info.is_main:
            print(line, flush=True)

    def _place(self, net: nn.Module) -> nn.Module:
        """The engine's transformations of a plugin's module (documented in docs/plugins.md):
        synchronised batch norm across processes, then the runtime's (norms, precision,
        device, memory format)."""
        if self.info.enabled:
            net = convert_sync_batchnorm(net, self.device.type)
        return self.runtime.place(net).train()

    def _build_optimizers(self) -> None:
        """One Adam per optimiser group of the method (fused: one vectorised kernel)."""
        optim = self.recipe.optim
        fused = self.device.type in ("cpu", "cuda")
        lrs = {"lr": optim.lr, "lr_d": optim.lr if optim.lr_d is None else optim.lr_d}
        self.base_lr: dict[str, float] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.group_params: dict[str, list[nn.Parameter]] = {}
        for group in self.method.optimizers:
            params = _params([self.nets[r] for r in group.roles])
            self.base_lr[group.name] = lrs[group.lr]
            self.group_params[group.name] = params
            self.optimizers[group.name] = torch.optim.Adam(
                params, lr=lrs[group.lr], betas=tuple(optim.betas), fused=fused
            )

    def set_lr_factor(self, factor: float) -> dict[str, float]:
        """Set every optimiser to its base learning rate times ``factor``; return the rates."""
        rates = {}
        for name, opt in self.optimizers.items():
            rates[name] = self.base_lr[name] * factor
            for group in opt.param_groups:
                group["lr"] = rates[name]
        return rates

    # -- the step ------------------------------------------------------------------------
    def _autocast(self) -> Any:
        return self.precision.autocast(self.device.type)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        return images.contiguous(memory_format=self.runtime.memory_format)

    def train_step(self, batch: dict[str, torch.Tensor], step: int = 0) -> dict[str, torch.Tensor]:
        """One iteration on ``{"A": images, "B": images}``; returns the detached loss terms."""
        for hook in self._step_hooks:  # schedules inside networks
            hook(step)
        batch = {k: self._prepare(v) for k, v in batch.items()}
        with self._autocast():
            cache = self.method.forward(batch)
        terms: dict[str, torch.Tensor] = {}
        for phase in self.method.phases:
            terms.update(self._run_phase(phase, batch, cache, step))
        self.scaler.update()
        if self.ema is not None:
            self.ema.update()
        return terms

    def gradients(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The loss terms and every parameter's gradient of one step, without changing any
        weight or state (optimisers do not step; the global RNG is restored). For checking
        that a fast path (fused passes, reduced precision) computes what the plain one does.

        :returns: ``(terms, {"<role>.<parameter>": gradient})``.
        """
        with torch.random.fork_rng(devices=[]):
            states = self.method.state_dict()
            batch = {k: self._prepare(v) for k, v in batch.items()}
            with self._autocast():
                cache = self.method.forward(batch)
            terms: dict[str, torch.Tensor] = {}
            for phase in self.method.phases:
                terms.update(self._run_phase(phase, batch, cache, 0, apply=False))
            self.method.load_state_dict(states)
        grads = {
            f"{role}.{name}": p.grad.detach().clone()
            for role, net in self.nets.items()
            for name, p in net.named_parameters()
            if p.grad is not None
        }
        return terms, grads

    def _run_phase(
        self,
        phase: Phase,
        batch: dict[str, torch.Tensor],
        cache: dict[str, Any],
        step: int,
        *,
        apply: bool = True,
    ) -> dict[str, torch.Tensor]:
        frozen = [self.nets[r] for r in phase.frozen]
        for net in frozen:
            net.requires_grad_(False)
        try:
            with self._autocast():
                raw = self.method.phase_losses(phase.name, batch, cache)
                raw[f"{phase.name}_total"] = torch.stack([t.float() for t in raw.values()]).sum()
            for name in phase.optimizers:
                self.optimizers[name].zero_grad(set_to_none=True)
            self.scaler.scale(raw[f"{phase.name}_total"]).backward()
        finally:
            for net in frozen:
                net.requires_grad_(True)
        terms = {k: v.detach().float() for k, v in raw.items()}
        if not apply:
            return terms
        self._check_finite(terms, phase.name, step)
        clip = self.recipe.optim.grad_clip
        for name in phase.optimizers:
            opt, params = self.optimizers[name], self.group_params[name]
            self.info.average_gradients(params)
            if clip > 0:
                self.scaler.unscale_(opt)  # a no-op without a scaler
            checked = not self.scaler.is_enabled()  # fp16: the scaler skips inf steps itself
            norm = _gradient_norm(params) if checked or clip > 0 else None
            if checked and not self._gradients_usable(name, norm, step):
                continue
            if clip > 0 and norm is not None:
                torch.nn.utils.clip_grads_with_norm_(params, clip, norm)
            self.scaler.step(opt)
        return terms

    def _gradients_usable(self, name: str, norm: torch.Tensor | None, step: int) -> bool:
        """Whether optimiser ``name`` may step on gradients of total norm ``norm``: skip (and
        say so) a reduced-precision update with non-finite gradients; stop on one in fp32
        or after :data:`MAX_SKIPPED_IN_A_ROW` skips."""
        if _finite_norm(norm):
            self.skipped[name] = 0
            return True
        self.skipped[name] = streak = self.skipped.get(name, 0) + 1
        precision = self.precision.name
        if precision == "fp32" or streak >= MAX_SKIPPED_IN_A_ROW:
            what = "" if precision == "fp32" else f" in {streak} steps in a row"
            raise NonFiniteLossError(
                f"step {step}: the gradients of optimiser {name!r} are not finite{what} "
                f"({precision}), though every loss term is; training stopped before updating "
                "the weights. Lower optim.lr, set optim.grad_clip, or use train.precision = "
                '"fp32"; resume from the last good checkpoint with --resume'
            )
        self._say(
            f"step {step}: non-finite gradients in {precision} for optimiser {name!r} (an "
            "all-flat crop through instance norms can do this); its update is skipped"
        )
        return False

    def _check_finite(self, terms: dict[str, torch.Tensor], phase: str, step: int) -> None:
        ok = self.info.all_true(bool(torch.isfinite(terms[f"{phase}_total"]).all()))
        if ok:
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

    def eval_model(self, use_ema: bool = True) -> Model:
        """The model as evaluation sees it: the EMA copies of the generators when enabled."""
        nets = dict(self.nets)
        if use_ema and self.ema is not None:
            nets.update(self.ema.shadow)
        return Model(self.recipe, self.method, nets, self.losses)

    def generators(self, use_ema: bool = True) -> dict[str, nn.Module]:
        """Direction -> generator for evaluation (the EMA copies when enabled)."""
        return self.eval_model(use_ema).generators()

    def state_dict(self) -> EngineState:
        return EngineState(
            models={k: v.state_dict() for k, v in self.nets.items()},
            ema=self.ema.state_dict() if self.ema is not None else None,
            ema_updates=self.ema.updates if self.ema is not None else 0,
            optimizers={k: v.state_dict() for k, v in self.optimizers.items()},
            scaler=self.scaler.state_dict(),
        )

    def load_state_dict(self, state: EngineState) -> None:
        """Restore a snapshot's state; a ``CheckpointError`` names the first role and key
        that do not fit (another architecture)."""
        for k, net in self.nets.items():
            try:
                net.load_state_dict(state.models[k])
            except (KeyError, RuntimeError) as err:
                raise CheckpointError(f"{k}: {state_dict_problem(err)}") from None
        if self.ema is not None:
            if state.ema:
                self.ema.load_state_dict(state.ema)
                self.ema.updates = state.ema_updates
            else:  # EMA switched on when resuming: start it from the weights
                self.ema = EMA({k: self.nets[k] for k in self.ema.nets}, self.ema.decay)
        for k, opt in self.optimizers.items():
            try:
                opt.load_state_dict(state.optimizers[k])
            except KeyError:
                raise CheckpointError(f"it holds no state of optimiser {k!r}") from None
        if state.scaler:
            self.scaler.load_state_dict(state.scaler)

    def method_state(self) -> dict[str, Any]:
        return self.method.state_dict()

    def load_method_state(self, state: dict[str, Any]) -> None:
        self.method.load_state_dict(state)
