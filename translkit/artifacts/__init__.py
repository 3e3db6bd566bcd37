"""Every file translkit writes and reads back, as a typed record.

=====================  ==========================  =========================================
file                   record                      format (current; older ones upgraded)
=====================  ==========================  =========================================
``checkpoints/*.pt``   :class:`TrainingSnapshot`   ``translkit.training/2`` (``/1``)
generators ``.pt``     :class:`GeneratorsFile`     ``translkit.generators/2`` (``/1``)
``.safetensors``       :class:`SafetensorsExport`  ``translkit.safetensors/2`` (``/1``)
``scores.json``        :class:`Scores`             ``translkit.scores/2`` (``/1``: untagged)
``summary.json``       :class:`RunSummary`         ``translkit.summary/2`` (``/1``: untagged)
``environment.json``   :class:`Environment`        ``translkit.environment/2`` (``/1``: untagged)
a demo's ``model.json`` :class:`DemoApp`           ``translkit.demo-app/1``
=====================  ==========================  =========================================

Each record writes its format tag into the file and saves atomically (``save``); ``load``
reads with ``torch.load(weights_only=True)``, safetensors or JSON only, refuses a
misshapen file in one :class:`~translkit.errors.CheckpointError` line naming the file and
the field, and upgrades an older layout through one ``migrate_vN`` function per version
(``migrate_v1`` turns version 1 into 2) — there and nowhere else. Nothing read decides what
is imported. No module outside this package reads or builds these files' data
(tests/test_architecture.py enforces it).

:mod:`translkit.artifacts.reading` opens them: :func:`read_generators` (the generators,
each from its own stored spec) and :func:`load_model` (the whole model of a snapshot);
:func:`translkit.load_generators` also takes a registered model's name.
"""

from translkit.artifacts.files import (
    load_checkpoint,
    load_weights_only,
    one_line,
    save_checkpoint,
    state_dict_problem,
)
from translkit.artifacts.generator_file import GeneratorsFile
from translkit.artifacts.reading import (
    Generators,
    ModelCard,
    checkpoint_source,
    component_provenance,
    generator_index,
    load_model,
    read_file,
    read_generator_specs,
    read_generators,
    require_components,
    run_made_with,
    save_generators,
)
from translkit.artifacts.run_files import DemoApp, Environment, RunSummary, Scores
from translkit.artifacts.safetensors_export import SafetensorsExport
from translkit.artifacts.snapshot import EngineState, RankState, StoredGenerator, TrainingSnapshot

#: The format tags written today (each record's ``FORMAT``).
TRAINING_FORMAT = TrainingSnapshot.FORMAT
GENERATORS_FORMAT = GeneratorsFile.FORMAT
SAFETENSORS_FORMAT = SafetensorsExport.FORMAT

__all__ = [
    "GENERATORS_FORMAT",
    "SAFETENSORS_FORMAT",
    "TRAINING_FORMAT",
    "DemoApp",
    "EngineState",
    "Environment",
    "Generators",
    "GeneratorsFile",
    "ModelCard",
    "RankState",
    "RunSummary",
    "SafetensorsExport",
    "Scores",
    "StoredGenerator",
    "TrainingSnapshot",
    "checkpoint_source",
    "component_provenance",
    "generator_index",
    "load_checkpoint",
    "load_model",
    "load_weights_only",
    "one_line",
    "read_file",
    "read_generator_specs",
    "read_generators",
    "require_components",
    "run_made_with",
    "save_checkpoint",
    "save_generators",
    "state_dict_problem",
]
