"""Where the feature-extractor weights for IS/FID/KID/PRC come from (the built-in metrics).

torch-fidelity (Obukhov et al., https://github.com/toshas/torch-fidelity) computes the
metrics with an InceptionV3 ported bit-exactly from the TensorFlow graph of Heusel et
al. (FID, 2017), and with torchvision's VGG16 for precision/recall (Kynkäänniemi et al.,
2019). Its own code downloads the weights on first use; translkit looks for a local
file first so scoring works offline:

1. an explicit path: the metrics' weights file (``--metric-weights PATH`` or the recipe's
   ``eval.metric_weights``; earlier ``--inception-weights`` and ``eval.inception_weights``);
2. the environment variable ``TRANSLKIT_INCEPTION_WEIGHTS``;
3. the torch hub cache (``$TORCH_HOME/hub/checkpoints/<file>``), where torch-fidelity's
   own download lands;
4. torch-fidelity's download, only when the download host answers.

With none of these, :func:`resolve_weights` raises one :class:`WeightsUnavailable` (a
:class:`~translkit.errors.MetricUnavailable`: ``translkit score`` skips such metrics unless
they were named) naming the file needed, where to get it and how to hand it over. A file
that was named but does not exist is a plain :class:`WeightsError`.

In translkit 0.2 and earlier this module was ``translkit.inception``; the core names no metric
family now, and it lives with the metrics that use it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from translkit.errors import MetricUnavailable, TranslkitError

__all__ = [
    "ENV_INCEPTION_WEIGHTS",
    "EXTRACTORS",
    "Extractor",
    "WeightsError",
    "WeightsUnavailable",
    "hub_checkpoint_dir",
    "is_online",
    "resolve_weights",
    "weights_digest",
    "write_random_weights",
]

#: Environment variable naming a local InceptionV3 weights file.
ENV_INCEPTION_WEIGHTS = "TRANSLKIT_INCEPTION_WEIGHTS"


class WeightsError(TranslkitError):
    """Feature-extractor weights are missing, unreadable or cannot be downloaded."""


class WeightsUnavailable(WeightsError, MetricUnavailable):
    """No weights file is given or cached and the download host does not answer: the
    metrics that need it cannot run here (``translkit score`` skips them unless named)."""


@dataclass(frozen=True)
class Extractor:
    """One torch-fidelity feature extractor and the weights file it needs."""

    fidelity_name: str  # torch-fidelity's registry name
    filename: str  # the file torch-fidelity downloads into the hub cache
    url: str
    env: str | None  # environment variable translkit reads for it


EXTRACTORS: dict[str, Extractor] = {
    "inception": Extractor(
        "inception-v3-compat",
        "weights-inception-2015-12-05-6726825d.pth",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
        "weights-inception-2015-12-05-6726825d.pth",
        ENV_INCEPTION_WEIGHTS,
    ),
    "vgg16": Extractor(
        "vgg16",
        "vgg16-397923af.pth",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        "TRANSLKIT_VGG16_WEIGHTS",
    ),
}


def hub_checkpoint_dir() -> Path:
    """The torch hub cache folder where downloaded weights are kept."""
    return Path(torch.hub.get_dir()) / "checkpoints"


_PROBED: dict[str, tuple[float, bool]] = {}
#: Seconds a probe's answer is reused (one probe per host for a whole ``score``, not one
#: per metric and direction, where an unreachable host can take the full timeout each time).
_PROBE_TTL = 60.0


def is_online(url: str, timeout: float = 3.0) -> bool:
    """Whether the host of ``url`` accepts a TCP connection on port 443 (the answer is
    reused for a minute)."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    now = time.monotonic()
    if host in _PROBED and now - _PROBED[host][0] < _PROBE_TTL:
        return _PROBED[host][1]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            answer = True
    except OSError:
        answer = False
    _PROBED[host] = (now, answer)
    return answer


def _checked(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise WeightsError(
            f"feature-extractor weights {path} (from {origin}) do not exist; "
            "fix the path or remove the setting"
        )
    return path.resolve()


def resolve_weights(
    explicit: str | Path | None = None,
    *,
    extractor: str = "inception",
    online: bool | None = None,
) -> Path | None:
    """The local weights file to use, or ``None`` to let torch-fidelity download it.

    :param explicit: a path given on the command line or in the recipe (``""`` = unset).
    :param extractor: ``"inception"`` (IS, FID, KID) or ``"vgg16"`` (precision/recall).
    :param online: skip the network probe (tests); ``None`` probes the download host.
    :raises WeightsError: a named file is missing, or nothing is found while offline.
    """
    spec = EXTRACTORS[extractor]
    if explicit:
        return _checked(Path(explicit).expanduser(), "the command line or recipe")
    if spec.env and os.environ.get(spec.env):
        return _checked(Path(os.environ[spec.env]).expanduser(), f"${spec.env}")
    cached = hub_checkpoint_dir() / spec.filename
    if cached.is_file():
        return cached
    if online is None:
        online = is_online(spec.url)
    if online:
        return None
    how = f"--metric-weights PATH, eval.metric_weights or ${spec.env}"
    if extractor != "inception":
        how = f"${spec.env}"
    raise WeightsUnavailable(
        f"{extractor} weights for torch-fidelity are needed and this machine is offline: "
        f"download {spec.url} elsewhere and either copy it to {cached} or pass it with {how}"
    )


_DIGESTS: dict[tuple[str, int, int], str] = {}


def weights_digest(path: Path | None) -> str:
    """A short content hash of a weights file (``"download"`` for torch-fidelity's own)."""
    if path is None:
        return "download"
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()[:16]
    return _DIGESTS[key]


def write_random_weights(path: str | Path, *, seed: int = 0) -> Path:
    """Save a randomly initialised torch-fidelity InceptionV3 state dict to ``path``.

    For offline tests and smoke runs only: the numbers it yields mean nothing. The
    layers are re-initialised with Kaiming-normal weights (unit BatchNorm statistics),
    because torch's default initialisation makes the deep features vanish (FID ≈ 0).
    """
    import tempfile
    from typing import Any

    import torch_fidelity.feature_extractor_inceptionv3 as fe_module

    class _Unloaded(fe_module.FeatureExtractorInceptionV3):  # skip loading real weights
        def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
            return None

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.pth"
        torch.save({}, empty)
        net = _Unloaded("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    gen = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            with torch.no_grad():
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=gen)
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(net.state_dict(), partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
