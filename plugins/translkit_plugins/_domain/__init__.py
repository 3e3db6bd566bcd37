"""Domain classifiers trained from scratch on a dataset's training split: offline metrics.

No downloaded weights: for each dataset, two small CNNs learn to tell domain A from
domain B on ``trainA/`` and ``trainB/`` only (the test split is never read for training),
and are cached on disk under a hash of those files' content and the classifier's
settings. Two *views*:

- ``colour`` — RGB, as it is;
- ``texture`` — the surface, not the garment: the network sees *patches* (a quarter of
  the side of an image loaded at twice the colour view's size, so the fabric at a
  photo's scale and too little of the garment to judge its cut), grey without absolute
  colour or brightness: during training each patch is turned grey with random channel
  weights, a random gamma, contrast and brightness, then standardised (zero mean, unit
  deviation); at test time it is grey (ITU-R 601 weights) and standardised. Flat patches
  (a studio backdrop: grey deviation below :data:`FLAT`) are not judged. An image's
  decision and features are the means over its textured patches (a grid at half-patch
  steps). The network is blind to polarity by construction (features of the image and its
  negative averaged). So a colour transfer does not fool it, and a jacket's shape does
  not make it leather.

In both views an image's features are averaged with its mirror image's. With both views,
also the share of translated images that both assign to the target domain
(``domain_both_rate``): a translation that fools one view only does not count. And how
much of its input's structure each translation keeps (``domain_structure``, see
``_structure``): the classifiers cannot tell a translated garment from a blob that
replaced it. And the spectral artefacts of the translations against real target photos
(``domain_spectral_peak``, ``domain_spectral_distance``, see ``_spectral``): the grids and
dots a generator paints, which a classifier may count as texture. And how much each
translation changes its input's studio background and skin (``domain_background_change``,
``domain_skin_change``, see ``_kept``): a garment translation should leave the person and
the backdrop alone.

From each classifier: the share of translated images it assigns to the target domain,
and the Fréchet distance and KID between the translated and the real target-domain
test images in its penultimate-layer features, beside the same numbers for real images
(the classifier's accuracy on the real test split and a real-vs-real floor: the target
domain's training images against its test images). See ``docs/scoring.md``.

The modules: :mod:`.classifier` (settings, network, views of an image, embeddings),
:mod:`.training`, :mod:`.cache` (classifier files on disk, what a metric keeps in memory),
:mod:`.distances` (FD and KID) and :mod:`.metric`.
"""

from translkit_plugins._domain.cache import (
    MIN_TRAIN,
    MemoryCache,
    cache_file,
    ensure_classifier,
    files_digest,
    train_files,
)
from translkit_plugins._domain.classifier import (
    FLAT,
    VERSION,
    VIEWS,
    ClassifierSettings,
    DomainNet,
    Features,
    View,
    embed,
    load_folder,
    new_net,
    patch_grid,
    view_input,
)
from translkit_plugins._domain.distances import frechet_distance, kernel_distance
from translkit_plugins._domain.metric import (
    BOTH_RATE,
    KEPT,
    SPECTRAL_DISTANCE,
    SPECTRAL_PEAK,
    STRUCTURE,
    TRUST,
    DomainMetric,
)
from translkit_plugins._domain.training import PATCHES_PER_IMAGE, train_classifier

__all__ = [
    "BOTH_RATE",
    "FLAT",
    "KEPT",
    "MIN_TRAIN",
    "PATCHES_PER_IMAGE",
    "SPECTRAL_DISTANCE",
    "SPECTRAL_PEAK",
    "STRUCTURE",
    "TRUST",
    "VERSION",
    "VIEWS",
    "ClassifierSettings",
    "DomainMetric",
    "DomainNet",
    "Features",
    "MemoryCache",
    "View",
    "cache_file",
    "embed",
    "ensure_classifier",
    "files_digest",
    "frechet_distance",
    "kernel_distance",
    "load_folder",
    "new_net",
    "patch_grid",
    "train_classifier",
    "train_files",
    "view_input",
]
