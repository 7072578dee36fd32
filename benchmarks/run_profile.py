"""Where a finished run's seconds went: per notebook, per feature table and ParSNIP batch, per GBDT stage.

    .venv/bin/python benchmarks/run_profile.py submissions/<run-id> [submissions/<other-run-id>]

Reads the run folder the runner leaves (config.json: seconds per notebook and the start time; progress.log: a
time-stamped line per tenth of every feature table, ParSNIP batch and GBDT repeat; metrics.json: notebook 05's
seconds per step). A phase of progress.log lasts from the previous phase's last line to its own last line (the
work is sequential), so the first phase of notebook 02 also holds its set-up (data load, sequences). Two run
folders print side by side. For seconds per object and feature group on one core, see
benchmarks/features_speed.py --objects N.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import common

LINE = re.compile(r"^(\d\d:\d\d:\d\d) (.*?)(?:: ([\d,]+)/([\d,]+) (\w+))?$")


def phases(run: Path) -> list[tuple[str, float, int | None]]:
    """(phase, seconds, objects) of progress.log, in order; a phase is a run of lines with the same label."""
    config = json.loads((run / "config.json").read_text())
    started = dt.datetime.fromisoformat(config["started"])
    seconds = config.get("seconds", {})
    previous = started + dt.timedelta(seconds=sum(v for k, v in seconds.items() if k < "02"))
    out: list[list] = []
    for raw in (run / "progress.log").read_text().splitlines():
        match = LINE.match(raw)
        if not match:
            continue
        clock, label, done, total, _ = match.groups()
        when = dt.datetime.combine(started.date(), dt.time.fromisoformat(clock))
        while when < previous - dt.timedelta(hours=12):  # past midnight
            when += dt.timedelta(days=1)
        if label.startswith("gbdt ") and "CV repeat" in label:
            label = label.split(":")[0] + " CV repeats"
        elif re.search(r" fold \d+ done", label):
            label = label.split(" fold ")[0] + " folds"
        if out and out[-1][0] == label:
            out[-1][1] += (when - previous).total_seconds()
        else:
            out.append([label, (when - previous).total_seconds(), None])
        if total:
            out[-1][2] = int(total.replace(",", ""))
        previous = when
    return [tuple(row) for row in out]


def profile(run: Path) -> dict[str, str]:
    config = json.loads((run / "config.json").read_text())
    rows = {f"notebook {name}": f"{value:.0f} s" for name, value in config.get("seconds", {}).items()}
    rows["whole run"] = f"{sum(config.get('seconds', {}).values()):.0f} s"
    seen: dict[str, int] = {}
    for label, seconds, objects in phases(run):
        seen[label] = seen.get(label, 0) + 1
        name = label if seen[label] == 1 else f"{label} ({seen[label]})"
        per = f" ({1000 * seconds / objects:.1f} ms/object)" if objects else ""
        rows[f"  {name}"] = f"{seconds:.0f} s{per}"
    metrics = run / "metrics.json"
    if metrics.is_file():
        for step, value in json.loads(metrics.read_text()).get("seconds", {}).items():
            rows[f"  05 {step}"] = f"{value:.0f} s"
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__, data_dir=False)
    parser.add_argument("runs", nargs="+", type=Path, help="one or two finished run folders")
    runs = parser.parse_args(argv).runs
    missing = [str(p) for p in runs if not (p / "config.json").is_file() or not (p / "progress.log").is_file()]
    if missing:
        raise ValueError(f"not a finished run folder (config.json and progress.log): {missing}")
    profiles = [profile(run) for run in runs]
    keys = list(dict.fromkeys(key for p in profiles for key in p))
    common.print_header(["", *(run.name for run in runs)])
    for key in keys:
        common.print_row([key, *(p.get(key, "") for p in profiles)])
    return 0


if __name__ == "__main__":
    common.run(main)
