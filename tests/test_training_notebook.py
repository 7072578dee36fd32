"""The shared steps of notebooks 03 and 04: model check, settings and config, scores text, saved predictions."""

import json

import numpy as np
import pytest
import torch

from utils.data.load import load_dataset
from utils.run.folder import load_predictions
from utils.steps.deep import save_for_ensemble, score_lines, start_deep_notebook
from utils.training import cross_validate_network, prepare_inputs

torch.set_num_threads(1)
COMMON = dict(data_dir=None, profile="quick", variant="tuned", seed=3, device="cpu")


@pytest.mark.parametrize("notebook, model, message", [
    ("03_cnn", "transformer", "notebook 03_cnn trains model 'cnn' or 'cnn_attn', not 'transformer' "
                              "('transformer' is notebook 04_transformer)"),
    ("04_transformer", "cnn_attn", "notebook 04_transformer trains model 'transformer', not 'cnn_attn' "
                                   "('cnn_attn' is notebook 03_cnn)"),
    ("04_transformer", "lstm", "notebook 04_transformer trains model 'transformer', not 'lstm'"),
])
def test_a_notebook_rejects_models_it_does_not_train(tmp_path, notebook, model, message):
    with pytest.raises(ValueError) as error:
        start_deep_notebook(notebook, out_dir=tmp_path, model=model, **COMMON)
    assert str(error.value) == message
    assert not list(tmp_path.iterdir())  # nothing written before the check


def test_settings_take_the_parameters_and_the_config_is_saved(tmp_path):
    settings, out = start_deep_notebook("03_cnn", out_dir=tmp_path, model="cnn_attn", epochs=3, lr=None, **COMMON)
    assert out == tmp_path
    assert settings["model"] == "cnn_attn" and settings["epochs"] == 3
    assert settings["seed"] == settings["cv_seed"] == 3
    saved = json.loads((tmp_path / "config_03_cnn.json").read_text())
    assert saved["notebook"] == "03_cnn" and saved["profile"] == "quick" and saved["epochs"] == 3
    with pytest.raises(ValueError, match="unknown deep-model notebook"):
        start_deep_notebook("05_ensemble", out_dir=tmp_path, model="cnn", **COMMON)


def test_scores_are_saved_for_the_ensemble_only_when_every_fold_ran(kaggle_dir, tmp_path):
    settings, out = start_deep_notebook("04_transformer", out_dir=tmp_path, model="transformer", n_folds=2,
                                        **COMMON)
    dataset = load_dataset(kaggle_dir)
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test)
    text = score_lines(result)
    assert text.startswith("OOF (nested threshold, honest): f1 ") and "(optimistic)" in text
    metrics = save_for_ensemble(out, "transformer", result, inputs.test.object_ids, settings, 1234, 0.0,
                                data_fingerprint=dataset.fingerprint)
    assert metrics["n_parameters"] == 1234 and metrics["f1"] == result.summary["f1"]
    saved = load_predictions(out, data_fingerprint=dataset.fingerprint)["transformer"]
    assert np.allclose(saved["test"].prob, result.test_prob)
    assert list(saved["test"].object_id) == list(inputs.test.object_ids)

    one_fold = {**settings, "fold": 0}
    partial = cross_validate_network(one_fold, inputs.train, inputs.y, inputs.aux, inputs.test)
    assert score_lines(partial) == "one fold only: no OOF scores over all objects"
    assert save_for_ensemble(tmp_path / "other", "transformer", partial, inputs.test.object_ids, one_fold, 1, 0.0,
                             data_fingerprint=dataset.fingerprint) is None
    assert not (tmp_path / "other").exists()


def test_a_notebook_run_saves_its_figures_and_hands_them_back(kaggle_dir, tmp_path):
    import matplotlib.pyplot as plt

    from utils.steps.deep import cross_validate_run, prepare_deep_run

    run = prepare_deep_run("04_transformer", out_dir=tmp_path, model="transformer", n_folds=2, pretrain=True,
                           **{**COMMON, "data_dir": str(kaggle_dir)})
    assert run.settings_table().loc["setting", "model"] == "transformer"
    report = cross_validate_run(run, progress=False)
    assert set(report.figures) == {"training_curves", "pr_curve"}
    assert all((tmp_path / "figures" / f"04_transformer_{name}.png").is_file() for name in report.figures)
    assert not plt.get_fignums()  # closed here, so a notebook shows each one once, where it asks for it
    assert report.metrics["n_parameters"] == run.n_parameters and report.scores == score_lines(report.cv)
    assert set(load_predictions(tmp_path, data_fingerprint=run.data_fingerprint)) == {"transformer"}
    assert (tmp_path / "models" / "transformer" / "pretrained_encoder.pt").is_file()  # next to the fold checkpoints
