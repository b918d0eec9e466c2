"""The package's shape: no import cycles, no dodging them, and no private imports across rooms."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"budgetopt": ROOT / "budgetopt", "budgetopt.optimizer": ROOT / "optimizer",
            "budgetopt.scenarios": ROOT / "scenarios", "budgetopt.cli": ROOT / "cli"}


def modules() -> dict[str, Path]:
    """Every module of the package by its import name (package-dir mapping as installed)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = modules()


def project_imports(tree) -> list[tuple[ast.AST, str, list[str]]]:
    """(node, module, names) of every import of a project module anywhere in the tree."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("budgetopt"):
            out.append((node, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node, alias.name, []) for alias in node.names
                    if alias.name.startswith("budgetopt")]
    return out


def top_level(tree) -> set[ast.AST]:
    """Import nodes that run when the module is imported (not inside a function)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {child for child in ast.walk(node) if child is not node}
    return {node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            and node not in inside}


def graph() -> dict[str, set[str]]:
    """Module -> project modules it imports when loaded (with their packages' __init__)."""
    edges = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        loaded = top_level(tree)
        targets = set()
        for node, module, names in project_imports(tree):
            if node not in loaded:
                continue
            candidates = [module] + [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            for target in candidates:
                parts = target.split(".")
                for depth in range(2, len(parts) + 1):
                    ancestor = ".".join(parts[:depth])
                    if ancestor in MODULES and not name.startswith(ancestor + ".") \
                            and ancestor != name:
                        targets.add(ancestor)
        edges[name] = targets
    return edges


def test_every_module_is_found_and_parses():
    assert "budgetopt.optimizer.solvers.separable" in MODULES
    assert "budgetopt.cli.main" in MODULES and len(MODULES) > 40


def test_no_import_cycles():
    edges = graph()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_no_function_level_imports_of_project_modules():
    """A cycle must be broken by the layout, not dodged by importing inside a function."""
    hidden = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        loaded = top_level(tree)
        hidden += [f"{name}: {module}" for node, module, _ in project_imports(tree)
                   if node not in loaded]
    assert hidden == []


@pytest.mark.parametrize("room", ["budgetopt.scenarios", "budgetopt.cli"])
def test_rooms_over_the_library_import_nothing_private(room):
    private = []
    for name, path in MODULES.items():
        if not name.startswith(room):
            continue
        for _, module, names in project_imports(ast.parse(path.read_text())):
            if module.startswith("budgetopt.optimizer"):
                private += [f"{name}: {module}.{n}" for n in names if n.startswith("_")]
                private += [f"{name}: {module}" for part in module.split(".")
                            if part.startswith("_")]
    assert private == []


def imported_modules(tree) -> set[str]:
    """Every module an import statement names (project or not)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_the_library_never_imports_the_command_line():
    offenders = [name for name, path in MODULES.items()
                 if name.startswith(("budgetopt.optimizer", "budgetopt.scenarios"))
                 and any(module == "click" or module.startswith("budgetopt.cli")
                         for module in imported_modules(ast.parse(path.read_text())))]
    assert offenders == []


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
