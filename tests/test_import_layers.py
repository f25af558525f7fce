"""The library's layers (issue 17), checked: import-linter's contracts (.importlinter), no import cycle inside
explainer/ (grimp), and no function-local import of one explainer module by another."""
import ast
import subprocess
import sys

import grimp

from conftest import ROOT


def test_import_linter_contracts_are_kept():
    # In a child process: import-linter reconfigures logging and disables the loggers that exist, among them
    # "explainer", whose records tests/test_app_shell.py reads.
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                          "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative); a component of two or more modules is a cycle."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def import_edges() -> dict[str, set[str]]:
    """Module -> the explainer modules it imports (anywhere in the file, as grimp reads it)."""
    graph = grimp.build_graph("explainer", cache_dir=None)
    mods = {m for m in graph.modules if m.startswith("explainer")}
    return {m: {x for x in graph.find_modules_directly_imported_by(m) if x in mods and x != m} for m in mods}


def test_no_import_cycle_inside_explainer():
    cycles = [c for c in strongly_connected(import_edges()) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_cycle_finder_finds_a_cycle():
    """The finder itself: a -> b -> c -> a is one component, d hangs off it."""
    comps = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()})
    assert sorted(comps) == [["a", "b", "c"], ["d"]]


def test_no_function_local_imports_between_explainer_modules():
    """An import inside a function hides a dependency (and once hid a cycle). Optional heavy packages
    (mlxtend, diffusers) may still be imported where they are needed: they are not explainer modules."""
    found = []
    for path in sorted((ROOT / "explainer").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("explainer")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("explainer") for a in node.names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
