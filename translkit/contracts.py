"""What the core expects of each kind of component a plugin registers — exactly.

Each registry kind has one contract here; the recipe resolver checks every recipe slot
against its contract (a ``[loss.cycle]`` naming an adversarial loss is refused when the
recipe is loaded, not at step 1). ``docs/plugins.md`` documents each one.

- **generators** — ``factory(**options) -> nn.Module`` mapping ``(N, 3, H, W)`` in
  ``[-1, 1]`` to the same shape. Optional attributes the core reads: ``size_multiple``
  (int: inputs must be divisible by it; inference pads and crops back), ``per_sample``
  (bool: each sample's output ignores the rest of the batch; default: no batch norm),
  ``fast_norm`` (bool, default True: allow instance norm → group norm on CPU),
  ``fast_conv`` (bool, default True: allow 3×3 convolutions by Winograd's algorithm on CPU),
  ``min_size`` (int: the smallest side it runs on — ResNet: 8, where the bottleneck is
  2×2; inference pads smaller images up to it, and without it finds the smallest working
  size by trying ``size_multiple``·2^k once per network), ``set_training_step``
  (callable ``(step: int) -> None``, on the network or any module inside it: the engine
  calls it with the 1-based step before each training step, for a schedule inside the
  network, such as the attention wrapper's mask warm-up; it must not change the state
  dict). Methods that need encoder features (CUT)
  require :class:`FeatureGenerator`.
- **discriminators** — ``factory(**options) -> nn.Module`` mapping images to logits of
  any shape; same optional attributes.
- **heads** — ``factory(in_channels=[...], **options) -> nn.Module``: a projection head
  (:class:`PatchHead`, CUT's F); the method passes ``in_channels`` (one width per feature
  map it will sample), so the head is complete when built.
- **losses** — ``factory(**options)`` returning a :class:`GANLoss` (adversarial), a
  :class:`PixelLoss` (cycle, identity, change) or a :class:`PatchLoss` (PatchNCE). The method's
  loss slot says which one it needs.
- **metrics** — ``factory(**options) -> Metric`` (:class:`Metric`); below its
  ``min_images`` :func:`translkit.scoring.score_folders` refuses a folder with one line, and
  it refuses any result that is not a finite number. Its optional parts (preflight, data
  preparation, baselines, reference values, trust marks) are declared by inheriting
  :class:`MetricBase`; a ``preflight`` raising :class:`~translkit.errors.MetricUnavailable`
  marks it as unable to run here (skipped where it was not named).
- **wrappers** (any kind) — a factory option annotated with
  :class:`translkit.registry.Inner` names the component it wraps; the options the factory
  does not declare go to that one (checked when the recipe is resolved).
- **methods** — ``factory(**options) -> Method`` (:class:`Method`): networks by role,
  loss slots, optimiser groups, phases, directions.
- **datasets** — ``factory(**options) -> DatasetSource``: what a dataset is (summary,
  size, licence, citation) and how to materialise it as ``trainA/ trainB/ testA/ testB/``
  (plus ``*_truth/`` where it has them): a list of :class:`RemoteFile` (URL, size, sha256,
  destination), an :class:`Archive` (URL, optional sha256, which folders inside go where),
  or a local ``generate(folder)`` callable. ``translkit.data.install`` does the rest.
- **importers** — ``factory() -> Importer`` (:class:`Importer`).
- **models** — ``factory(**options) -> PretrainedModel``: a trained model's card (summary,
  method, generator, directions, recipe, terms of use, citation) and, per direction, one
  :class:`ModelWeights` (a ``.safetensors`` export with its size and sha256: a file inside
  the distribution, or URLs). ``translkit.pretrained`` verifies, downloads and loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = [
    "KEY_FID",
    "KEY_F_SCORE",
    "KEY_IS",
    "KEY_IS_STD",
    "KEY_KID",
    "KEY_KID_STD",
    "KEY_L1",
    "KEY_OBJECTIVE",
    "KEY_PRECISION",
    "KEY_PSNR",
    "KEY_RECALL",
    "KEY_SSIM",
    "Archive",
    "Baseline",
    "DatasetSource",
    "FeatureGenerator",
    "GANLoss",
    "GeneratorSpec",
    "HeldOutBatches",
    "Importer",
    "LossSlot",
    "Method",
    "MethodContext",
    "Metric",
    "MetricBase",
    "MetricInputs",
    "MetricSetup",
    "ModelWeights",
    "NetworkSlot",
    "OptimizerGroup",
    "PatchHead",
    "PatchLoss",
    "Phase",
    "PixelLoss",
    "PretrainedModel",
    "RemoteFile",
    "TestBatches",
    "gan_penalty",
    "is_per_sample",
    "satisfies",
]

# -- result keys of the built-in metrics, short and stable --------------------------------
KEY_IS = "is"
KEY_IS_STD = "is_std"
KEY_FID = "fid"
KEY_KID = "kid"
KEY_KID_STD = "kid_std"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_F_SCORE = "f_score"
KEY_PSNR = "psnr"
KEY_SSIM = "ssim"
KEY_L1 = "l1"
#: The method's own training objective on the test split (computed by the core).
KEY_OBJECTIVE = "objective"


# -- networks ---------------------------------------------------------------------------
def is_per_sample(net: nn.Module) -> bool:
    """Whether each sample's output ignores the rest of the batch: the module's
    ``per_sample`` attribute when it sets one, else "it holds no batch norm"."""
    declared = getattr(net, "per_sample", None)
    if declared is not None:
        return bool(declared)
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@runtime_checkable
class FeatureGenerator(Protocol):
    """A generator that exposes intermediate features of its own layers (CUT's encoder).

    Optionally it also offers ``forward_with_features(x, layers) -> (output, features)``,
    both from one pass; CUT's fast path then takes the sources' features from the
    translation pass instead of encoding them again. CUT reads the feature widths off one
    small probe pass (zeros, eval mode, no gradients) when it builds its head.
    """

    #: Layers whose features the method uses when the recipe does not name any.
    feature_layers: Sequence[int]

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """The outputs of ``layers`` (indices into the generator's stack), in the order of
        ``layers``; each ``(N, C, H, W)``. The stack may stop after the deepest one."""
        ...


@runtime_checkable
class PatchHead(Protocol):
    """Samples patches from feature maps and projects them (CUT's ``PatchSampleF``)."""

    def __call__(
        self,
        features: Sequence[torch.Tensor],
        num_patches: int,
        patch_ids: Sequence[torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(projected (N·P, D) per layer, the patch ids used per layer)``; given
        ``patch_ids`` it samples those positions again (source and output alike).

        Rows are image-major (image 0's ``P`` patches first). A patch id is a 1-D long
        tensor of positions in the flattened ``H·W`` grid of its layer, shared by every
        image of the batch; without ``patch_ids`` the head draws ``min(num_patches, H·W)``
        of them from torch's global RNG.
        """
        ...


# -- losses -----------------------------------------------------------------------------
@runtime_checkable
class GANLoss(Protocol):
    """An adversarial objective. Both methods return scalar tensors.

    It may also define ``penalty(discriminator, real, fake) -> Tensor | None``, an extra
    discriminator term that needs the network itself (WGAN-GP); see :func:`gan_penalty`.
    """

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss of the generator given the discriminator's logits on generated images."""
        ...

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        """Loss of the discriminator (halved as in Zhu et al.: ``0.5 * (real + fake)``)."""
        ...


def gan_penalty(
    loss: GANLoss, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor | None:
    """The loss's optional ``penalty`` term, or ``None`` when it defines none."""
    penalty = getattr(loss, "penalty", None)
    return penalty(discriminator, real, fake) if callable(penalty) else None


@runtime_checkable
class PixelLoss(Protocol):
    """A weighted reconstruction loss (cycle, identity, change). ``weight == 0`` disables it."""

    weight: float

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class PatchLoss(Protocol):
    """A weighted loss between two sets of projected patch features (PatchNCE).

    ``loss.contrast(query, key, batch_size)`` takes ``(N·P, D)`` features of the output
    (query) and of the source (key, the same positions) of ``N = batch_size`` images and
    returns a scalar, already weighted.
    """

    weight: float

    def contrast(self, query: torch.Tensor, key: torch.Tensor, batch_size: int) -> torch.Tensor: ...


def satisfies(obj: Any, contract: type) -> bool:
    """Whether ``obj`` provides every member of the loss or network Protocol ``contract``.

    Each loss kind has its own method names (``generator_loss``/``discriminator_loss``,
    ``contrast``, ``__call__``), so a loss is of exactly one kind.
    """
    weighted = isinstance(getattr(obj, "weight", None), (int, float))
    if contract is GANLoss:
        return callable(getattr(obj, "generator_loss", None)) and callable(
            getattr(obj, "discriminator_loss", None)
        )
    if contract is PatchLoss:
        return weighted and callable(getattr(obj, "contrast", None))
    if contract is PixelLoss:
        return (
            weighted
            and callable(obj)
            and not satisfies(obj, GANLoss)
            and not satisfies(obj, PatchLoss)
        )
    return isinstance(obj, contract)


# -- metrics ----------------------------------------------------------------------------
@dataclass
class MetricInputs:
    """What a metric is given: folders of images (PNG/JPEG) and context.

    ``fake`` holds translated images; ``real`` real images of the target domain;
    ``truth`` (optional) the ground-truth twins of ``fake`` under the same file names.
    ``cache_dir`` is where a metric may keep features between calls (always set by the
    core); ``weights`` the local weights file the user gave for the metrics
    (``--metric-weights``, ``eval.metric_weights``), passed as is to every metric, which
    decides what it is. ``data_root`` (the dataset with ``trainA/ trainB/ testA/
    testB/``) and ``direction`` (``a2b``/``b2a``) are set when the core scores a model on
    a dataset, for metrics that learn from the dataset's training split; ``None`` when
    scoring bare folders.
    """

    fake: Path
    real: Path
    cache_dir: Path
    truth: Path | None = None
    device: str = "cpu"
    batch_size: int = 32
    weights: Path | None = None
    progress: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    data_root: Path | None = None
    direction: str | None = None

    def __getattr__(self, name: str) -> Any:  # attributes under their old names
        from translkit.compat import old_attribute

        return old_attribute(self, name)


@dataclass(frozen=True)
class MetricSetup:
    """What a metric's :meth:`MetricBase.preflight` is told before any long work.

    :param weights: the local weights file the user gave for the metrics, as
        :attr:`MetricInputs.weights`; ``None`` when none was given.
    :param data_root: the dataset a model will be scored on (``None``: bare folders).
    """

    weights: Path | None = None
    data_root: Path | None = None


@dataclass(frozen=True)
class Baseline:
    """A translation that learnt nothing, scored like a model beside it (``translkit score
    --baselines``): a model that does no better has not learnt the target domain.

    :param name: its key in results (``copy_input``); the table's column is the name
        with spaces for underscores.
    :param translate: ``translate(source, out, target_train)`` "translates" the folder of
        test images ``source`` into the empty folder ``out`` (PNG, same relative names),
        given the target domain's training folder, and returns the folder of results
        (``out``, or ``source`` itself for a copy).
    """

    name: str
    translate: Callable[[Path, Path, Path], Path]


@runtime_checkable
class Metric(Protocol):
    """A metric over folders of images.

    Called once per translation direction with :class:`MetricInputs`; returns
    ``{key: value}``. A metric with fewer than ``min_images`` images in ``fake`` (or
    ``real``) must raise :class:`translkit.errors.MetricError` instead of a number. The
    optional parts are declared by inheriting :class:`MetricBase`.
    """

    #: For each result key, whether lower (``"min"``) or higher (``"max"``) is better.
    goals: Mapping[str, Literal["min", "max"]]
    #: Fewest images per folder that give a meaningful value.
    min_images: int
    #: Notes on what was adapted in the last call (e.g. ``kid_subset_size``), for reports.
    info: Mapping[str, float]

    def __call__(self, inputs: MetricInputs) -> dict[str, float]: ...


class MetricBase:
    """A :class:`Metric` with its optional parts declared, each with its default.

    Inherit it and override what the metric uses; the core reads these as attributes. A
    metric that does not inherit it is read by the older contract, adapted in one place
    (:mod:`translkit.metric_adapter`).
    """

    goals: Mapping[str, Literal["min", "max"]] = MappingProxyType({})
    min_images: int = 1
    info: Mapping[str, float] = MappingProxyType({})
    #: Baselines worth scoring beside this metric when baselines are asked for.
    baselines: Sequence[Baseline] = ()
    #: Score :attr:`baselines` even when not asked (``--no-baselines`` still turns them off).
    show_baselines: bool = False
    #: Whether :meth:`prepare_data` does anything (training runs it as a named step).
    prepares_data: bool = False
    #: After a call: what real target-domain images score on a key (a floor or a ceiling),
    #: shown in the ``real`` column beside the model; a key need not be a result key.
    reference: Mapping[str, float] = MappingProxyType({})
    #: After a call: marks on numbers not to trust (name -> why), printed in red.
    untrusted: Mapping[str, str] = MappingProxyType({})

    def preflight(self, setup: MetricSetup) -> None:
        """Called before training or scoring starts, and cheap: raise a ``TranslkitError``
        now if something the metric will need later is missing (e.g. its network's
        weights). Raise :class:`translkit.errors.MetricUnavailable` when the metric cannot
        run on this machine as set up: ``translkit score`` then skips it where it was only
        a default, with one line saying why."""

    def prepare_data(self, data_root: Path, cache_dir: Path, progress: bool = False) -> None:
        """Long work on the dataset a model will be scored on (e.g. training the metric's
        own networks), when :attr:`prepares_data`: training runs it as a named step
        before step 1 so that evaluation does not stall mid-run."""

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        raise NotImplementedError


# -- methods ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSlot:
    """A network a method trains: its role (``G_AB``), the recipe section it is built
    from (``generator``, ``discriminator`` or ``head``), the component used when the
    recipe leaves that section out (only ``head`` can be left out), and the factory
    options the method itself passes when it builds it (``supplied``, e.g. a head's
    ``in_channels``: see :meth:`Method.network_options`)."""

    role: str
    section: Literal["generator", "discriminator", "head"]
    default: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    supplied: tuple[str, ...] = ()


@dataclass(frozen=True)
class LossSlot:
    """A loss a method uses: ``[loss.<name>]`` in the recipe, its contract, and the
    component used when the recipe names none (``default`` name and options)."""

    name: str
    contract: type
    default: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimizerGroup:
    """One Adam optimiser over the parameters of ``roles``; its learning rate is the
    recipe's ``optim.lr`` or ``optim.lr_d`` (``lr``)."""

    name: str
    roles: tuple[str, ...]
    lr: Literal["lr", "lr_d"] = "lr"


@dataclass(frozen=True)
class Phase:
    """One backward pass of a training step, then a step of its ``optimizers``.

    The engine freezes the parameters of ``frozen`` roles, computes the method's loss
    terms for the phase, checks them, back-propagates their sum, synchronises gradients
    across processes, clips and steps. Terms are logged as ``<term>``; their sum as
    ``<name>_total``.
    """

    name: str
    optimizers: tuple[str, ...]
    frozen: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodContext:
    """What the engine tells a method when it sets it up.

    :param run: role -> the callable to run in training steps (the network, or its
        compiled form). A discriminator role's callable applies the recipe's differentiable
        augmentation (``train.diffaug``, :mod:`translkit.augment`) to every input first, so
        a method that calls its discriminators through ``run`` — real and fake, in every
        phase, penalties included — gets it without code of its own.
    :param fuse: batch independent passes of one per-sample network together.
    :param seed: the run's seed (for method-owned random state such as history pools).
    :param rank: this process's rank (each keeps its own method state).
    :param augment: that augmentation by itself (``None`` when off), for a method that
        must feed a discriminator some other way.
    """

    run: Mapping[str, Callable[..., Any]]
    device: torch.device
    fuse: bool = False
    seed: int = 0
    rank: int = 0
    pool_size: int = 0
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None


#: ``batches(domain)`` yields the test images of ``"A"`` or ``"B"`` in batches, on device.
HeldOutBatches = Callable[[str], Iterator[torch.Tensor]]
#: The name before 0.3.
TestBatches = HeldOutBatches


@runtime_checkable
class Method(Protocol):
    """A translation method: what is trained, with which optimisers, in which phases.

    The engine owns everything common — devices, precision, gradient synchronisation,
    clipping, EMA, schedules, non-finite checks, checkpoints and resume, logging,
    samples, evaluation. A method says what is specific, as data plus three calls.
    """

    #: The method's registry name.
    name: str
    networks: Sequence[NetworkSlot]
    losses: Sequence[LossSlot]
    optimizers: Sequence[OptimizerGroup]
    #: In order; each phase steps its optimisers before the next phase starts.
    phases: Sequence[Phase]
    #: Direction (``a2b``, ``b2a``) -> the role that translates in it.
    directions: Mapping[str, str]

    def network_options(self, role: str, built: Mapping[str, nn.Module]) -> dict[str, Any]:
        """Extra factory options for ``role``, given the roles built before it (slot
        order); e.g. CUT's head gets ``in_channels`` read off the generator. Usually ``{}``."""
        ...

    def setup(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], context: MethodContext
    ) -> None:
        """Called once by the engine before the first step, with the built networks."""
        ...

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """The forward pass shared by the phases (e.g. the generated images)."""
        ...

    def phase_losses(
        self, phase: str, batch: Mapping[str, torch.Tensor], cache: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        """The loss terms of ``phase`` (scalars); ``cache`` is what :meth:`forward`
        returned, which a phase may extend for the next."""
        ...

    def held_out_objective(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], batches: HeldOutBatches
    ) -> dict[str, float]:
        """The method's objective on the test split (networks in eval mode, no gradients):
        ``{"objective": total, "objective/<term>": value, ...}``. (Called ``test_objective``
        before 0.3; a method that still defines only that name works, with a warning.)"""
        ...

    def state_dict(self) -> dict[str, Any]:
        """This process's method state (e.g. history pools) as tensors and plain data."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


# -- datasets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it comes from and what it must hash to.

    ``dest`` is its path inside the dataset root (``"trainA/1.jpg"``, forward slashes);
    ``mirrors`` are further URLs serving the same bytes, tried in order when ``url`` fails.
    """

    url: str
    dest: str
    size: int
    sha256: str
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Archive:
    """A zip or tar archive holding a dataset, and which of its folders go where.

    ``layout`` maps a folder inside the archive to a folder of the dataset root, e.g.
    ``{"horse2zebra/trainA": "trainA", ...}``; members outside these folders are ignored.
    ``sha256`` ``None`` means *trust on first use*: the hash of the first download is
    recorded in the translkit cache and every later download must match it. ``size`` is the
    expected download size in bytes (``None``: unknown).
    """

    url: str
    layout: Mapping[str, str]
    sha256: str | None = None
    size: int | None = None
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSource:
    """What a dataset plugin's factory returns. Exactly one of ``files``, ``archive`` and
    ``generate`` is set.

    :param name: the name it is registered under.
    :param summary: one line on what it is.
    :param licence: licence or terms of use, in a few words.
    :param citation: how to cite it (free text or BibTeX; may be empty).
    :param homepage: where it is published.
    :param files: individual files with sha256 (verified before use).
    :param archive: one archive and the folders inside it.
    :param generate: ``generate(folder)`` writes the dataset into the empty ``folder``.
    :param size: bytes it takes (default: the files' sum, or the archive's size).
    :param splits: the folders it provides; ``trainA`` and ``trainB`` at least.
    :param notes: known quirks (duplicates, odd images), shown by ``translkit data info``.
    """

    name: str
    summary: str
    licence: str
    citation: str = ""
    homepage: str = ""
    files: tuple[RemoteFile, ...] = ()
    archive: Archive | None = None
    generate: Callable[[Path], None] | None = None
    size: int | None = None
    splits: tuple[str, ...] = ("trainA", "trainB", "testA", "testB")
    notes: str = ""

    @property
    def kind(self) -> Literal["files", "archive", "generate"]:
        """How it is materialised."""
        if self.files:
            return "files"
        return "archive" if self.archive is not None else "generate"

    @property
    def download_size(self) -> int | None:
        """Bytes to transfer (``None`` when unknown; 0 for generated datasets)."""
        if self.files:
            return sum(f.size for f in self.files)
        if self.archive is not None:
            return self.archive.size if self.archive.size is not None else self.size
        return 0


# -- pretrained models ------------------------------------------------------------------
@dataclass(frozen=True)
class ModelWeights:
    """One direction's generator of a pretrained model: a file written by ``translkit
    export --format safetensors`` (weights and plain metadata only, never code).

    Exactly one of ``resource`` and ``url`` is set:

    - ``resource`` — the file inside the plugin's distribution (package data), e.g.
      ``importlib.resources.files(__package__) / "weights" / "m_a2b.safetensors"``;
    - ``url`` — where it is downloaded from (``https``, ``http`` or ``file``; ``mirrors``
      serve the same bytes) into translkit's cache, resumably.

    Either way the file must have ``size`` bytes and hash to ``sha256`` (lower-case hex)
    before it is loaded.
    """

    direction: str
    sha256: str
    size: int
    resource: Traversable | None = None
    url: str = ""
    mirrors: tuple[str, ...] = ()

    @property
    def where(self) -> Literal["package", "url"]:
        """Where the weights come from."""
        return "package" if self.resource is not None else "url"


@dataclass(frozen=True)
class PretrainedModel:
    """What a model plugin's factory returns: a trained model's card and its weights.

    :param name: the name it is registered under (``translkit translate NAME ...``).
    :param summary: one line on what it does.
    :param method: the method it was trained with (``cyclegan``, ``cut``, ...).
    :param generator: the registered generator its weights are for; each weights file's
        metadata must name it.
    :param weights: one :class:`ModelWeights` per direction (``a2b``, ``b2a``).
    :param terms: terms of use, in a few words (the training data's terms included).
    :param citation: how to cite it (free text or BibTeX; may be empty).
    :param recipe: the recipe it was trained with: its TOML text, or a file inside the
        distribution (a ``Traversable``, like ``ModelWeights.resource``).
    :param homepage: where it is described or published.
    :param card: the rest of the model card (training details, measured metrics) as
        free text, shown by ``translkit models info``.
    :param input_size: the shorter side, in pixels, of the images it learned from (its
        recipe's ``data.load_size``): ``translate``, ``score`` and ``demo`` scale larger
        images down to it first unless told otherwise (``--resize``); 0: each image at
        its own size.
    """

    name: str
    summary: str
    method: str
    generator: str
    weights: tuple[ModelWeights, ...]
    terms: str
    citation: str = ""
    recipe: str | Traversable = ""
    homepage: str = ""
    card: str = ""
    input_size: int = 0

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(w.direction for w in self.weights)

    @property
    def size(self) -> int:
        """Bytes of all its weights files."""
        return sum(w.size for w in self.weights)

    def weights_for(self, direction: str) -> ModelWeights | None:
        return next((w for w in self.weights if w.direction == direction), None)


# -- importers --------------------------------------------------------------------------
@dataclass
class GeneratorSpec:
    """A generator as translkit's files store it (:mod:`translkit.artifacts`): its registered
    name, options and weights; ``notes`` (plain data) are recorded with an import (e.g. how
    many stale keys were dropped); ``module`` is the plugin module that provided it (``""``
    when unknown; it only names that plugin in an error, it is never imported)."""

    name: str
    options: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    notes: dict[str, Any] = field(default_factory=dict)
    module: str = ""


@runtime_checkable
class Importer(Protocol):
    """Converts generator weights saved by other code into :class:`GeneratorSpec`."""

    #: Generator (registry name) to build when the user names none; ``auto`` allowed.
    default_generator: str
    #: The method the imported generators were trained with (``""`` when unknown).
    method: str

    def convert(
        self,
        path: Path,
        build: Callable[[str, dict[str, Any]], nn.Module],
        *,
        generator: str,
        options: Mapping[str, Any],
    ) -> GeneratorSpec:
        """Read ``path`` (weights-only) and return the generator it holds; ``build(name,
        options)`` creates a registered generator to load the weights into."""
        ...
