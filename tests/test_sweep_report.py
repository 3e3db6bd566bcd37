"""What a sweep shows: the live lines at 80 columns, the table, ``best.toml`` and the HTML
report (history, importances, pruning savings), checked on a study filled by hand — no
training — and rendered in headless Chromium where it is installed."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, screenshot
from training_support import make_data

optuna = pytest.importorskip("optuna")

from rich.console import Console  # noqa: E402

from translkit.recipe import load_recipe  # noqa: E402
from translkit.sweep import finish, load_sweep  # noqa: E402
from translkit.sweep.report import pruning_savings, trials_table  # noqa: E402
from translkit.sweep.runner import _Sweep  # noqa: E402
from translkit.sweep.spec import trial_name  # noqa: E402


@pytest.fixture
def filled(tmp_path: Path):
    """A sweep file and its study with 3 complete, 1 pruned and 1 failed trial."""
    data = make_data(tmp_path / "data")
    (tmp_path / "tiny.toml").write_text(
        f'[data]\nroot = "{data}"\nload_size = 32\ncrop_size = 32\n'
        '[generator]\nname = "resnet"\nn_blocks = 1\nngf = 4\n[train]\ndevice = "cpu"\n'
    )
    (tmp_path / "s.toml").write_text(
        f'[sweep]\nrecipe = "tiny.toml"\ntrials = 6\noutput_dir = "{tmp_path / "sweeps"}"\n'
        '[objective]\nmetric = "objective"\n'
        '[space]\n"optim.lr" = { low = 1e-4, high = 1e-2, log = true }\n'
        '"loss.identity.weight" = { low = 0.0, high = 5.0 }\n'
        '"generator.ngf" = [4, 8]\n'
    )
    spec = load_sweep(tmp_path / "s.toml")
    sweep = _Sweep(spec, None, 1, Console(file=io.StringIO(), width=80))
    study = sweep.study
    dists = {
        "optim.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
        "loss.identity.weight": optuna.distributions.FloatDistribution(0.0, 5.0),
        "generator.ngf": optuna.distributions.CategoricalDistribution([4, 8]),
    }
    rows = [(3e-4, 1.0, 4, 9.0), (2e-3, 4.0, 8, 7.5), (5e-3, 2.5, 8, 8.0)]
    for number, (lr, weight, ngf, value) in enumerate(rows):
        params = {"optim.lr": lr, "loss.identity.weight": weight, "generator.ngf": ngf}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=dists,
                value=value,
                intermediate_values={1: value + 2, 2: value},
                user_attrs={"minutes": 1.0},
            )
        )
        raw = spec.trial_raw(params, number)
        recipe_dir = spec.sweep_dir / "recipes"
        import tomli_w

        (recipe_dir / f"{trial_name(number)}.toml").write_text(tomli_w.dumps(raw))
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED,
            params={"optim.lr": 1e-2, "loss.identity.weight": 0.5, "generator.ngf": 4},
            distributions=dists,
            intermediate_values={1: 40.0},
            user_attrs={
                "minutes": 0.5,
                "projected_minutes": 1.0,
                "reason": "pruned at epoch 1 (objective 40)",
            },
        )
    )
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params={"optim.lr": 1e-3, "loss.identity.weight": 1.5, "generator.ngf": 8},
            distributions=dists,
            user_attrs={"reason": "step 3: loss term 'D_B' is nan; lower optim.lr"},
        )
    )
    return spec, sweep


def test_live_display_fits_80_columns(filled) -> None:
    _spec, sweep = filled
    out = io.StringIO()
    Console(file=out, width=80).print(sweep.render())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("sweep s: 5/6 done (1 pruned, 1 failed) · best 7.5 (#1)")
    assert max(len(line) for line in lines) <= 80


def test_table_best_toml_and_report(filled, tmp_path: Path) -> None:
    spec, sweep = filled
    out = io.StringIO()
    Console(file=out, width=80).print(trials_table(spec, sweep.study))
    table = out.getvalue()
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "1*" in table and "pruned" in table and "failed" in table and "nan" in table
    assert pruning_savings(sweep.study) == (1, 0.5, 1.0)
    paths = finish(spec, sweep.study)
    best = load_recipe(paths["best"])
    assert best.run.name == "s_best" and best.optim.lr == pytest.approx(2e-3)
    assert best.generator.options["ngf"] == 8
    page = paths["report"].read_text()
    assert page.count("<svg") == 2  # history with each trial's evaluations; importances
    assert "1 pruned trial ran 0.5 minutes" in page
    assert "lower optim.lr" in page


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_report_renders_in_headless_chromium(filled, tmp_path: Path) -> None:
    spec, sweep = filled
    page = finish(spec, sweep.study)["report"]
    pixels = screenshot(page, tmp_path)
    assert pixels.std() > 20  # not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # text and the plots' colours
