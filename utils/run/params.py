"""Notebook settings from the command line: `--param NAME=VALUE` (make run PARAMS='NAME=VALUE ...').

Each name goes to every selected notebook whose papermill `parameters` cell assigns it, with the value typed
like that notebook's default: `copies=0` is the int 0 where the default is an int or None, `variant=starter`
the string 'starter' where the default is a string, `example_classes=["TDE","AGN"]` a list where it is a list.
"""

from __future__ import annotations

import ast
import json
import shlex
from typing import Any, Iterable, Mapping

# The runner sets these from its own options (--data-dir, --out-dir, --profile, --seed, --device); a --param
# for one of them would be silently overwritten or would fight the option, so it is refused.
RUNNER_NAMES = ("data_dir", "out_dir", "profile", "seed", "device")
# What the parameters cell assigns with something other than a literal (a call, a name): any value goes.
UNTYPED = object()
TRUE_WORDS, FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def split_params(text: str) -> list[str]:
    """PARAMS as make passes it: NAME=VALUE words split like a shell line, so a value may hold quoted spaces."""
    try:
        return shlex.split(text)
    except ValueError as error:
        raise ValueError(f"PARAMS {text!r}: {error}") from None


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """NAME=VALUE strings to {name: text}, in order; a malformed item or a repeated name raises ValueError."""
    assignments: dict[str, str] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise ValueError(f"--param {item!r}: use NAME=VALUE, e.g. copies=0")
        if name in assignments:
            raise ValueError(f"--param {name} is given twice ({assignments[name]!r} and {text!r})")
        if name in RUNNER_NAMES:
            raise ValueError(f"--param {name}: set it with --{name.replace('_', '-')} ({name.upper()}=...), "
                             "not --param")
        assignments[name] = text
    return assignments


def cell_defaults(source: str) -> dict[str, Any]:
    """The names a parameters cell assigns and their default values (UNTYPED where it is not a literal)."""
    defaults: dict[str, Any] = {}
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                defaults[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                defaults[target.id] = UNTYPED
    return defaults


def _literal(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is a Python literal or JSON (true, null, ...), else (False, None)."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def typed_like(name: str, text: str, default: Any, notebook: str) -> Any:
    """`text` as a value of the default's type; one ValueError line naming the notebook when it is not one."""
    parsed, value = _literal(text)

    def refuse(kind: str) -> ValueError:
        return ValueError(f"--param {name}={text}: {notebook} takes {kind} (its default is {default!r})")

    if default is None or default is UNTYPED:
        # None means "the profile's value": the notebook takes whatever the profile would set, so a literal is
        # taken as one (copies=0 an int, fold=None back to the profile) and anything else as a string (loss=bce).
        return value if parsed else text
    if isinstance(default, bool):
        word = text.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise refuse("true or false")
    if isinstance(default, int):
        if parsed and isinstance(value, int) and not isinstance(value, bool):
            return value
        raise refuse("an integer")
    if isinstance(default, float):
        if parsed and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise refuse("a number")
    if isinstance(default, str):
        # A quoted literal ('"SN Ia"') is the string inside the quotes; anything else is taken as written.
        return value if parsed and isinstance(value, str) else text
    if isinstance(default, (list, tuple, dict, set)):
        if parsed and isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            return type(default)(value)
        if parsed and isinstance(value, type(default)):
            return value
        raise refuse(f"a {type(default).__name__}")
    if parsed and isinstance(value, type(default)):
        return value
    raise refuse(f"a {type(default).__name__}")


def notebook_params(assignments: Mapping[str, str], defaults: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """{notebook: {name: typed value}} for the notebooks whose parameters cell has each name.

    `defaults`: {notebook: its parameters cell's defaults} for the selected notebooks, in run order.
    A name none of them takes raises ValueError naming the names they do take.
    """
    chosen: dict[str, dict] = {notebook: {} for notebook in defaults}
    for name, text in assignments.items():
        takers = [notebook for notebook, cell in defaults.items() if name in cell]
        if not takers:
            known = sorted({n for cell in defaults.values() for n in cell} - set(RUNNER_NAMES))
            raise ValueError(f"--param {name}: no selected notebook ({', '.join(defaults)}) has it in its parameters "
                             f"cell; they take {', '.join(known)}")
        for notebook in takers:
            chosen[notebook][name] = typed_like(name, text, defaults[notebook][name], notebook)
    return chosen
