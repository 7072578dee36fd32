"""What the benchmark scripts share, so that each one holds only its own measurement.

    import common                                   # first: it puts the project root on sys.path
    parser = common.parser(__doc__)                 # --help prints the docstring; --data-dir as the project resolves it
    parser.add_argument("--seeds", type=common.int_list, default="42,0,1,2,3")
    ...
    if __name__ == "__main__":
        common.run(main)                            # a DataError or ValueError: one `error: ...` line, exit status 2

A script runs from the project root as `.venv/bin/python benchmarks/<subject>_<question>.py`; Python puts its
folder, benchmarks/, first on sys.path, so `import common` finds this file (the tests put benchmarks/ on sys.path
the same way, tests/conftest.py). No benchmark imports another: what two of them need lives here.

Importing this module costs nothing beyond the standard library: numpy, pandas and the project's modules are
imported by the helpers that use them, so a script that times its own imports (data_speed.py's phases) or
prints --help pays only for what it uses.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from utils.errors import ArgumentParser, DataError, error_line  # noqa: E402  (no third-party import behind it)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from utils.evaluation.cv_result import CVResult

SEED = 42  # the notebooks' default seed: notebook 05's redshift draws are SEED, SEED + 1, ...; its nested F1 uses it
THRESHOLD_SPLITS = 10  # seeds of the threshold splits a benchmark's nested F1 is averaged over


# --- command line ---------------------------------------------------------------------------------------------

def parser(doc: str | None, *, data_dir: bool = True) -> argparse.ArgumentParser:
    """An argument parser whose --help prints the script's docstring as written, with --data-dir unless the
    script reads no data; a command line it refuses is one `error: ...` line and exit status 2."""
    made = ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if data_dir:
        made.add_argument("--data-dir", default=None,
                          help="folder holding train_log.csv (default: $DATA_DIR, then data/, then the Kaggle mount)")
    return made


def data_dir(value: str | None) -> str:
    """The data folder as the project resolves it (utils.data.load.find_data_dir); for scripts that hand it to
    another process, so that a missing folder is reported here, once."""
    from utils.data.load import find_data_dir

    return str(find_data_dir(value))


def run(main: Callable[[], int | None]) -> NoReturn:
    """Exit with main()'s status. A DataError or ValueError (a missing data folder, a bad value) ends in one
    `error: ...` line on stderr and exit status 2, as `python -m utils.run` does, not in a traceback."""
    try:
        status = main()
    except (DataError, ValueError) as error:
        print(error_line(error), file=sys.stderr)
        sys.exit(2)
    sys.exit(status or 0)


def int_list(text: str) -> list[int]:
    """'42,0,1' -> [42, 0, 1]: --seeds, --cv-seeds and other comma-separated integers (an argparse type)."""
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def names(text: str) -> list[str]:
    """'gp,fits' -> ['gp', 'fits']: comma-separated names, empty items dropped (an argparse type)."""
    return [item for item in text.split(",") if item]


def key_values(items: Iterable[str]) -> dict:
    """['epochs=3', "device='cuda'"] -> {'epochs': 3, 'device': 'cuda'}: values read as Python literals where they
    are one, else kept as text."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{item!r} is not KEY=VALUE")
        try:
            settings[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[key] = value
    return settings


def variant(text: str) -> tuple[dict, dict, list[str] | None]:
    """A variant of notebook 05's default path: 'default' or 'name=value,...' -> (notebook-05 settings, LightGBM
    parameters, feature groups or None for the default ones). A name is a setting of notebook 05 (draws, copies,
    class_groups, ...; `modes=multiclass+specialist` for a list of GBDT modes), a LightGBM parameter (learning_rate,
    max_bin, ...), or `groups=+g` / `groups=-g` (the default feature groups with candidate group g added / group g
    removed); anything else is refused."""
    from utils.features import DEFAULT_GROUPS, REGISTRY
    from utils.gbdt.lightgbm import PARAMS
    from utils.steps.gbdt import PROFILES

    settings, params, groups = {}, {}, None
    for name, value in ({} if text == "default" else key_values(text.split(","))).items():
        if name == "groups":
            groups = list(DEFAULT_GROUPS)
            for token in str(value).replace("-", " -").replace("+", " +").split():
                if token[1:] not in REGISTRY or token[0] not in "+-":
                    raise ValueError(f"variant {text!r}: {token!r} is not +group or -group of {list(REGISTRY)}")
                groups = groups + [token[1:]] if token[0] == "+" else [g for g in groups if g != token[1:]]
        elif name in PROFILES["default"]:
            settings[name] = value
        elif name in PARAMS:
            params[name] = value
        else:
            raise ValueError(f"variant {text!r}: {name!r} is neither a notebook-05 setting "
                             f"({sorted(PROFILES['default'])}), a LightGBM parameter ({sorted(PARAMS)}) nor groups")
    return settings, params, groups


def variants(text: str) -> list[str]:
    """';'-separated variants (an argparse type), each checked by `variant`."""
    chosen = [item for item in text.split(";") if item]
    for item in chosen:
        variant(item)
    return chosen


# --- paired differences over seeds ----------------------------------------------------------------------------

def paired(scores, baseline) -> tuple[float, float]:
    """Mean paired difference scores - baseline over seeds and its standard error (utils.evaluation.paired.
    paired_gain); with one seed, that seed's difference and NaN."""
    from utils.evaluation.paired import paired_gain

    if len(scores) == 1 == len(baseline):
        return float(scores[0]) - float(baseline[0]), float("nan")
    return paired_gain(scores, baseline)


def paired_line(label: str, scores, baseline) -> str:
    """'label: mean ± standard error (n seeds; positive at k)' of the paired differences scores - baseline."""
    import numpy as np

    gain, error = paired(scores, baseline)
    positive = int((np.asarray(scores, dtype=float) > np.asarray(baseline, dtype=float)).sum())
    return f"{label}: {gain:+.4f} ± {error:.4f} (standard error, {len(scores)} seeds; positive at {positive})"


# --- markdown tables ------------------------------------------------------------------------------------------

def markdown_row(cells: Iterable) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def print_header(columns: Iterable[str]) -> None:
    """A markdown table's header and separator; print_row then prints each row as soon as it is measured."""
    columns = list(columns)
    print(markdown_row(columns))
    print(markdown_row("---" for _ in columns), flush=True)


def print_row(cells: Iterable) -> None:
    print(markdown_row(cells), flush=True)


# --- data -----------------------------------------------------------------------------------------------------

def objects_of(dataset, kind: str, log: pd.DataFrame) -> list:
    """The objects of these rows of the `kind` log, de-extinguished as feature_table does, in log order."""
    from utils.data.lightcurve import deextinguished_objects

    lightcurves = dataset.lightcurves(kind)
    return list(deextinguished_objects(lightcurves[lightcurves["object_id"].isin(log.index)], log))


def sample_objects(dataset, kind: str, n_objects: int) -> list:
    """n_objects evenly spaced objects of `kind` (all if fewer), de-extinguished as feature_table does."""
    import numpy as np

    log = dataset.log(kind)
    rows = np.unique(np.linspace(0, len(log) - 1, min(n_objects, len(log))).round().astype(int))
    return objects_of(dataset, kind, log.iloc[rows])


def training_tables(dataset, n_draws: int = 3) -> list[pd.DataFrame]:
    """The cached training feature tables notebook 05 trains on at seed SEED: one redshift draw per CV repeat,
    seeded SEED, SEED + 1, ..."""
    from utils.features import feature_table

    return [feature_table(dataset, "train", redshift_seed=SEED + draw) for draw in range(n_draws)]


# --- scores ---------------------------------------------------------------------------------------------------

def multiclass_cv(dataset, tables, seed: int, n_repeats: int = 3, **kwargs) -> CVResult:
    """The multiclass GBDT under repeated CV at `seed`, one table (redshift draw) per repeat, as notebook 05 trains
    it; kwargs go to utils.gbdt.cross_validate_gbdt (params, sample_weight, copies, groups, ...)."""
    from utils.gbdt import cross_validate_gbdt

    log = dataset.train_log
    return cross_validate_gbdt(tables, log["target"].astype(int), spec_type=log["SpecType"], mode="multiclass",
                               n_repeats=n_repeats, seed=seed, **kwargs)


def mean_nested_f1(y: np.ndarray, prob: np.ndarray, n_seeds: int = THRESHOLD_SPLITS) -> float:
    """Nested-threshold F1 averaged over `n_seeds` seeds of the threshold splits (3 splits each), so that one lucky
    split does not decide a row."""
    import numpy as np

    from utils.evaluation.metrics import honest_summary

    return float(np.mean([honest_summary(y, prob, seed=s, repeats=3)["f1"] for s in range(n_seeds)]))


# --- notebook 05's blend, replayed on finished runs -------------------------------------------------------------

DEEP_NOTEBOOKS = {"cnn": "03_cnn", "transformer": "04_transformer"}  # deep member -> the notebook that trains it
FIXED_BLENDS = {"gbdt+transformer": ["gbdt", "transformer"], "gbdt+cnn+transformer": ["gbdt", "cnn", "transformer"]}


def finished(run: Path) -> bool:
    """Whether a run folder holds a finished run (metrics.json and submission.csv)."""
    return (run / "metrics.json").is_file() and (run / "submission.csv").is_file()


def existing_runs(pairs: Iterable[str]) -> dict[int, Path]:
    """--existing SEED=RUN_FOLDER items -> {seed: run folder}."""
    existing = {}
    for pair in pairs:
        seed, _, folder = pair.partition("=")
        if not folder:
            raise ValueError(f"--existing takes SEED=RUN_FOLDER, not {pair!r}")
        existing[int(seed)] = Path(folder)
    return existing


def blend_f1(oof: pd.DataFrame, members: list[str], seed: int, settings: dict) -> float:
    """Nested F1 of notebook 05's blend method cross-validated over its blender splits on these OOF columns."""
    from utils.evaluation.blend import cross_validated_blend
    from utils.evaluation.metrics import honest_summary

    blended = cross_validated_blend(oof[members], oof["target"], settings["blend_method"], seed=seed,
                                    n_repeats=settings["blend_repeats"])
    return honest_summary(oof["target"].to_numpy(), blended.to_numpy(), seed=seed,
                          repeats=settings["nested_repeats"])["f1"]


def selected_blend(oof: pd.DataFrame, members: list[str], seed: int, settings: dict) -> tuple[list[str], float]:
    """Notebook 05's default ensemble from these members (utils.steps.ensemble.selected_members, then the
    cross-validated blend of the kept ones): the kept members and the blend's nested F1."""
    from utils.steps.ensemble import selected_members

    kept, _ = selected_members(oof[members], oof["target"], settings["blend_method"], seed=seed,
                               blend_repeats=settings["blend_repeats"])
    return kept, blend_f1(oof, kept, seed, settings)


def fixed_blend_f1s(oof: pd.DataFrame, seed: int, settings: dict) -> dict[str, float]:
    """Nested F1 of each FIXED_BLENDS blend of the OOF columns, without member selection (which looks at the
    same OOF rows it is scored on)."""
    return {name: blend_f1(oof, members, seed, settings) for name, members in FIXED_BLENDS.items()}
