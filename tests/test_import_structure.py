"""The package's import graph (read with ``ast``, lazy imports inside functions included) has no
cycle, and every import between the layers points down: launch -> loop -> measures."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forgetbench", "recsys_sim", "tasks")

#: Layer rank of a module by its dotted prefix (longest prefix wins); a module may import only
#: modules of its own or a lower rank.
LAYERS = {
    "forgetbench.errors": 0,
    "forgetbench.measures": 1, "forgetbench.config": 1, "forgetbench.plugins": 1,
    "tasks": 1,              # the built-in plug-ins: they import the package's face (Task, register_task)
    "forgetbench": 1,        # the face (``forgetbench/__init__.py``): the public names, imported lazily above it
    "forgetbench.loop": 2,
    "forgetbench.llm": 3, "recsys_sim": 3,
    "forgetbench.callbacks": 4, "forgetbench.report": 4,
    "forgetbench.launch": 5,
    "forgetbench.cli": 6, "forgetbench.run": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ours that ``name`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports_of(n, p, set(mods)) for n, p in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` as a closed path, or None (iterative DFS, white/grey/black)."""
    colour = dict.fromkeys(edges, 0)
    for start in sorted(edges):
        if colour[start]:
            continue
        stack, path = [(start, iter(sorted(edges[start])))], [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(edges[nxt]))))
                path.append(nxt)
    return None


def rank(name: str) -> int:
    """The layer of ``name``: its longest prefix in LAYERS (the face ``forgetbench`` itself only by equality)."""
    best = max((k for k in LAYERS if name == k or (k != "forgetbench" and name.startswith(k + "."))), key=len)
    return LAYERS[best]


def test_cycle_finder_finds_a_crafted_cycle_and_none_in_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_relative_and_lazy_imports_are_read(tmp_path):
    """A lazy import inside a function and a relative import both count as edges."""
    pkg = tmp_path / "forgetbench"
    pkg.mkdir()
    (pkg / "x.py").write_text("def f():\n    from .b import g\n    import forgetbench.errors\n")
    known = {"forgetbench.x", "forgetbench.b", "forgetbench.errors", "forgetbench.y"}
    assert imports_of("forgetbench.x", pkg / "x.py", known) == {"forgetbench.b", "forgetbench.errors"}


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_point_down_the_layers():
    upward = [f"{a} -> {b}" for a, bs in graph().items() for b in bs if rank(b) > rank(a)]
    assert not upward, "imports that point up a layer:\n" + "\n".join(sorted(upward))


def test_every_module_is_in_a_layer():
    assert all(rank(n) >= 0 for n in modules())
    with pytest.raises(ValueError):
        rank("elsewhere.module")
