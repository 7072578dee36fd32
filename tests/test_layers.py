"""The package reads as a stack: every import in utils/ goes down it (or stays inside its own package), no module
imports itself back through a cycle, and no function hides an import of the project's own code."""

import ast
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parent.parent / "utils"
# Bottom to top. A package may import only what stands below it; the small helpers at the bottom import nothing
# of the project but the root's constants (BANDS, PROJECT_ROOT).
LAYERS = [
    ["utils"],
    ["utils.config", "utils.errors", "utils.atomic", "utils.progress", "utils.classes", "utils.cosmology", "utils.plots"],
    ["utils.data"],
    ["utils.features"],
    ["utils.evaluation"],
    ["utils.gbdt"],
    ["utils.models"],
    ["utils.training"],
    ["utils.run"],
    ["utils.serve"],
    ["utils.steps"],
    ["utils.kaggle_kernel"],
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(UTILS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """The layer entry a module belongs to: its package under utils (or the helper module itself)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else "utils"


def project_imports(path: Path):
    """(imported module, line, inside a function) for every import of utils code in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(child) for function in functions for child in ast.walk(function)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source != "utils" and not source.startswith("utils."):
                continue
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if (UTILS.parent / Path(*t.split("."))).exists() or
                       (UTILS.parent / (str(Path(*t.split("."))) + ".py")).exists() else source for t in targets]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names if alias.name.startswith("utils")]
        else:
            continue
        for target in targets:
            yield target, node.lineno, id(node) in inside


FILES = sorted(UTILS.rglob("*.py"))
EDGES = [(module_name(path), target, line, in_function, path) for path in FILES
         for target, line, in_function in project_imports(path)]


def test_every_package_has_a_place_in_the_stack():
    placed = {unit(module_name(path)) for path in FILES}
    assert placed - set(RANK) == set(), "add the new package to LAYERS (where in the stack does it stand?)"


def test_imports_only_go_down_the_stack():
    upward = [f"{path.relative_to(UTILS.parent)}:{line} imports {target}" for module, target, line, _, path in EDGES
              if unit(module) != unit(target) and RANK[unit(target)] >= RANK[unit(module)]]
    assert upward == []


def test_no_function_imports_project_code():
    # Third-party imports may wait in a function (an optional or heavy library); the project's own code may not:
    # such an import is how a cycle hides.
    hidden = [f"{path.relative_to(UTILS.parent)}:{line} imports {target}" for _, target, line, in_function, path in EDGES
              if in_function]
    assert hidden == []


def test_no_import_cycles():
    # A package's face (__init__) imports its modules to hand their names on; the modules never import the face
    # back (next test), so faces are left out here and what remains is the code's own import graph.
    graph: dict[str, set[str]] = {}
    for module, target, *_ in EDGES:
        if module != target and not _is_face(module) and not _is_face(target):
            graph.setdefault(module, set()).add(target)
    assert _a_cycle(graph) is None


def _is_face(module: str) -> bool:
    return (UTILS.parent / Path(*module.split(".")) / "__init__.py").is_file()


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph, or None (depth-first search with a path stack)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [node])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


@pytest.mark.parametrize("package", [p for p in sorted(UTILS.iterdir()) if (p / "__init__.py").is_file()],
                         ids=lambda p: p.name)
def test_modules_never_import_their_own_package_face(package):
    face = module_name(package / "__init__.py")
    inward = [f"{path.relative_to(UTILS.parent)}:{line}" for module, target, line, _, path in EDGES
              if target == face and module.startswith(face + ".")]
    assert inward == []
