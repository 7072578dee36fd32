"""The command line the Makefile calls: python -m utils.kaggle_kernel build|push|status|output|submit."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ArgumentParser, DataError, error_line
from .build import BUILD_DIR, KaggleKernelError, build
from .client import download_output, push, status, submit


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m utils.kaggle_kernel", description=sys.modules[__package__].__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build build/kaggle/ (metadata + notebook)")
    build_parser.add_argument("--out", type=Path, default=BUILD_DIR)
    build_parser.add_argument("--allow-dirty", action="store_true", default=os.environ.get("ALLOW_DIRTY") == "1",
                              help="build from uncommitted changes (also: ALLOW_DIRTY=1)")
    for name, help_text in (("push", "upload and run the built kernel"), ("status", "state of the latest version"),
                            ("output", "download the latest version's outputs into submissions/")):
        commands.add_parser(name, help=help_text).add_argument("--dir", type=Path, default=BUILD_DIR)
    submit_parser = commands.add_parser("submit", help="submit a submission.csv to the competition")
    submit_parser.add_argument("file", nargs="?", help="path to submission.csv")
    submit_parser.add_argument("--message", default=None, help="submission description (default: the file's run)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.out, allow_dirty=args.allow_dirty)
        elif args.command == "push":
            push(args.dir)
        elif args.command == "status":
            status(args.dir)
        elif args.command == "output":
            download_output(build_dir=args.dir)
        else:
            submit(args.file, args.message)
    except (KaggleKernelError, DataError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    return 0
