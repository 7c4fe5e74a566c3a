"""minigrad's modules import each other in one direction, but for the one documented cycle.

The graph is read from the source: every ``import`` and ``from ... import`` statement of
every module, at module level or inside a function, that names a minigrad module. An
edge ``a -> b`` means module ``a`` imports module ``b`` (``from .ops import relu`` is an
edge to the package ``minigrad.ops``, ``from . import ops`` too; ``from .ops import
dropout``, a name that is also a submodule, counts as both, so no edge is missed). A
package's ``__init__`` runs before its submodules, but that is Python's loading order,
not a dependency of the code, so a module's own packages are no edge.

The one cycle allowed is ``minigrad.tensor`` -> ``minigrad.ops`` (see the docstring of
``minigrad.tensor``): Tensor's operators call the ops, which build Tensors. Without
that edge the graph must be acyclic, and the modules on the cycle must be ``tensor``
and the ops, nothing else. And the cycle must work whichever of its modules Python
imports first.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

import minigrad

PACKAGE = pathlib.Path(minigrad.__file__).parent
DOCUMENTED_CYCLE_EDGE = ("minigrad.tensor", "minigrad.ops")


def module_names():
    """``dotted module name -> path`` of every Python module of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("minigrad",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name, path, modules):
    """The minigrad modules that module ``name`` (at ``path``) imports anywhere in it."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".")
                if not is_package:
                    package = package[:-1]
                base = ".".join(package[:len(package) - (node.level - 1)])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            targets = []
            for alias in node.names:  # a submodule of source, or a name defined in it
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    targets.append(submodule)
                    if not name.startswith(f"{source}."):  # (an ancestor is no edge)
                        targets.append(source)
                else:
                    targets.append(source)
        else:
            continue
        for target in targets:
            while target and target not in modules:  # ``import minigrad.a.b`` -> longest known
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    modules = module_names()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def strongly_connected_components(graph):
    """Tarjan's algorithm: the sets of modules that all reach each other."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycles(graph):
    return [sorted(c) for c in strongly_connected_components(graph) if len(c) > 1]


def test_the_graph_sees_module_level_and_function_level_imports():
    graph = import_graph()
    assert "minigrad.kernels.backend" in graph["minigrad.kernels.dispatch"]
    assert "minigrad.checkpoint" in graph["minigrad.cli"]  # imported inside a function
    assert "minigrad.ops" in graph["minigrad.nn.activation"]  # from ..ops import relu
    assert DOCUMENTED_CYCLE_EDGE[1] in graph[DOCUMENTED_CYCLE_EDGE[0]]


def test_the_only_cycle_is_tensor_and_ops():
    graph = import_graph()
    (cycle,) = cycles(graph)
    assert "minigrad.tensor" in cycle
    assert all(m == "minigrad.tensor" or m.startswith("minigrad.ops") for m in cycle), cycle


def test_without_tensors_import_of_ops_the_graph_is_acyclic():
    graph = import_graph()
    graph[DOCUMENTED_CYCLE_EDGE[0]].discard(DOCUMENTED_CYCLE_EDGE[1])
    assert cycles(graph) == []


IMPORT_FIRST = """
import importlib, sys, types
# the package without its __init__ (which imports tensor first), so {first} goes first;
# the copy this test imported (installed, or the source tree), not the current directory's
package = types.ModuleType("minigrad")
package.__path__ = [{package!r}]
sys.modules["minigrad"] = package
importlib.import_module("{first}")
x = importlib.import_module("minigrad.tensor").Tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()
assert x.grad.tolist() == [2.0, 4.0]
"""


@pytest.mark.parametrize("first", sorted(cycles(import_graph())[0]) + ["minigrad.autograd"])
def test_the_cycle_works_whichever_module_is_imported_first(first):
    # tensor imports ops at its bottom, once Tensor and Function exist (its docstring)
    result = subprocess.run([sys.executable, "-c", IMPORT_FIRST.format(first=first, package=str(PACKAGE))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_autograd_imports_nothing_from_minigrad():
    # it walks whatever graph it is given (see its docstring); Tensor and Function
    # sit above it
    assert import_graph()["minigrad.autograd"] == set()


def test_cycle_detection_finds_a_cycle_that_avoids_the_documented_edge():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
