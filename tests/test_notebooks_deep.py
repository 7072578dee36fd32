"""Notebooks 03 and 04 run headless on a tiny data set with the quick profile and honour the run-folder contract."""

import json

import pandas as pd

from utils.run.pipeline import run


def test_deep_notebooks_run_and_save_predictions(kaggle_dir, tmp_path):
    run_dir = run(data_dir=str(kaggle_dir), out_dir=tmp_path / "runs", profile="quick", notebooks="03-04",
                  progress=False, device="cpu")
    for model, number in (("cnn", "03"), ("transformer", "04")):
        oof = pd.read_csv(run_dir / "predictions" / f"oof_{model}.csv")
        test = pd.read_csv(run_dir / "predictions" / f"test_{model}.csv")
        metrics = json.loads((run_dir / "predictions" / f"metrics_{model}.json").read_text())
        assert len(oof) == 40 and oof.prob.between(0, 1).all() and set(oof.columns) >= {"object_id", "target", "prob"}
        assert len(test) == 20 and test.prob.between(0, 1).all()
        assert {"f1", "precision", "recall", "average_precision", "threshold", "seconds"} <= set(metrics)
        assert all((run_dir / "models" / model / f"fold{k}" / "best_model.pt").is_file() for k in range(5))
        assert (run_dir / "figures" / f"{number}_{model}_pr_curve.png").is_file()
        assert (run_dir / "figures" / f"{number}_{model}_training_curves.png").is_file()
        assert (run_dir / f"config_{number}_{'cnn' if model == 'cnn' else 'transformer'}.json").is_file()
