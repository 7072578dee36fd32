"""How far apart the deep models' fold networks score, and what aligning them (align_folds) changes.

    .venv/bin/python benchmarks/deep_fold_alignment.py --data-dir ../shared/mallorn --run submissions/latest

`--run` is a run folder of notebooks 03 and/or 04 (their checkpoints under models/<model>/fold<k>/). Each
fold network is reloaded with the settings saved in its checkpoint and scores its own held-out fold and
the whole test set. Prints, per model: each fold network's median and 95th-percentile test logit, then the
pooled OOF scores without and with the alignment (nested F1 at seed 42 over 10 threshold splits, as the
notebooks compute it; OOF-optimised F1; AP), and which of the two the run saved.
"""

from __future__ import annotations

from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd

from utils.data.load import load_dataset
from utils.evaluation.blend import logit
from utils.evaluation.folds import stratified_folds
from utils.evaluation.metrics import honest_summary
from utils.training import prepare_inputs
from utils.training.calibration import align_fold_scores
from utils.training.cv import checkpoint_path
from utils.training.fit import DeepClassifier


SEED = common.SEED  # the notebooks' default: their nested thresholds use splits 42..51


def fold_scores(run: Path, model: str, dataset) -> tuple[np.ndarray, ...]:
    """y, raw OOF probabilities, fold of each OOF row, test probabilities by fold (from the checkpoints)
    and the OOF probabilities the run saved."""
    first = DeepClassifier.load(checkpoint_path(run, model, 0), device="cpu")
    settings = first.settings
    inputs = prepare_inputs(dataset, settings)
    splits = stratified_folds(inputs.y, settings["n_folds"], settings["cv_seed"])
    oof, fold_of, test_by_fold = np.full(len(inputs.y), np.nan), np.full(len(inputs.y), -1), []
    for k, (_, held_out) in enumerate(splits):
        path = checkpoint_path(run, model, k)
        if not path.is_file():
            raise SystemExit(f"{path} not found: the run trained only some folds of {model}")
        classifier = first if k == 0 else DeepClassifier.load(path, device="cpu")
        oof[held_out] = classifier.predict_proba(inputs.train.subset(held_out))
        fold_of[held_out] = k
        test_by_fold.append(classifier.predict_proba(inputs.test))
    saved = pd.read_csv(run / "predictions" / f"oof_{model}.csv").set_index("object_id")["prob"]
    return inputs.y, oof, fold_of, np.array(test_by_fold), saved.reindex(inputs.train.object_ids).to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--run", required=True, help="run folder of notebook 03 and/or 04")
    args = parser.parse_args(argv)
    run = Path(args.run)
    models = sorted(p.name for p in (run / "models").glob("*") if (p / "fold0" / "best_model.pt").is_file())
    if not models:
        raise SystemExit(f"no deep-model checkpoints under {run / 'models'}: "
                         "give the folder of a run of notebook 03 or 04")
    dataset = load_dataset(args.data_dir)
    for model in models:
        y, raw_oof, fold_of, test_by_fold, saved = fold_scores(run, model, dataset)
        test_logits = logit(test_by_fold)
        print(f"\n{model}: fold networks on the {test_by_fold.shape[1]:,} test objects\n")
        common.print_header(["fold", "median test logit", "95th percentile test logit"])
        for k, logits in enumerate(test_logits):
            common.print_row([k, f"{np.median(logits):.2f}", f"{np.quantile(logits, 0.95):.2f}"])
        aligned_oof, _ = align_fold_scores(raw_oof, fold_of, test_by_fold)
        print()
        common.print_header([f"{model} OOF", f"F1 nested (seed {SEED}, 10 splits)", "F1 OOF-optimised", "AP",
                             "what the run saved"])
        for name, prob in (("fold networks as trained", raw_oof), ("aligned (align_folds)", aligned_oof)):
            summary = honest_summary(y, prob, seed=SEED, repeats=10)
            is_saved = "this" if np.allclose(prob, saved, atol=1e-9) else ""
            common.print_row([name, f"{summary['f1']:.3f}", f"{summary['f1_oof_optimised']:.3f}",
                              f"{summary['average_precision']:.3f}", is_saved])
    return 0


if __name__ == "__main__":
    common.run(main)
