"""The report's three tiers, read with ``ast`` (lazy imports inside functions included): ``runs`` (tier 1)
<- ``stats`` (tier 2) <- ``sections`` / ``render`` (tier 3). Imports point down only, the numbers never
reach for matplotlib, matplotlib's backend is picked once, and no module imports another's private name."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "forgetbench" / "report"
TIERS = ("runs", "stats", "sections", "render")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tier(name: str) -> str | None:
    """``runs``, ``stats``, ``sections`` or ``render`` for a module under ``forgetbench.report``; None else."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["forgetbench", "report"] and parts[2] in TIERS else None


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import statement of the file."""
    out = []
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.append((base, [a.name for a in node.names]))
    return out


def report_modules() -> dict[str, Path]:
    return {module_name(p): p for p in REPORT.rglob("*.py")}


def imported_tiers(path: Path) -> set[str]:
    """Tiers a module imports: ``from forgetbench.report import stats`` counts as well as ``report.stats.x``."""
    out = set()
    for mod, names in imports(path):
        out |= {tier(mod)} | {tier(f"{mod}.{n}") for n in names}
    return out - {None}


def test_every_report_module_is_in_a_tier():
    loose = [n for n in report_modules() if tier(n) is None and n not in ("forgetbench.report", "forgetbench.report.__main__")]
    assert not loose, f"modules outside runs/stats/sections/render: {loose}"


def test_imports_point_down_the_tiers():
    allowed = {"runs": {"runs"}, "stats": {"runs", "stats"}, "sections": {"runs", "stats", "sections"},
               "render": {"runs", "stats", "sections", "render"}}
    upward = [f"{n} -> {sorted(imported_tiers(p) - allowed[tier(n)])}"
              for n, p in report_modules().items() if tier(n) and imported_tiers(p) - allowed[tier(n)]]
    assert not upward, "imports that point up a tier:\n" + "\n".join(sorted(upward))


def test_only_render_touches_matplotlib_and_picks_the_backend_once():
    users = sorted(n for n, p in report_modules().items()
                   if any(m == "matplotlib" or m.startswith("matplotlib.") for m, _ in imports(p)))
    assert users and all(tier(n) == "render" for n in users), users
    calls = [(n, node.lineno) for n, p in report_modules().items() for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use"
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib"]
    assert [n for n, _ in calls] == ["forgetbench.report.render"], calls


def test_no_module_imports_a_private_name_of_another():
    private = [f"{n}: from {m} import {x}" for n, p in report_modules().items() for m, names in imports(p)
               for x in names if x.startswith("_") and not x.startswith("__")]
    assert not private, "private names imported across modules:\n" + "\n".join(private)


def test_the_checks_see_a_crafted_violation(tmp_path, monkeypatch):
    """An upward import and a private import in a stats module are both caught."""
    stats = tmp_path / "forgetbench" / "report" / "stats"
    stats.mkdir(parents=True)
    bad = stats / "bad.py"
    bad.write_text("def f():\n    from forgetbench.report.sections.format import _decimals\n"
                   "from ..render import figure\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_tiers(bad) == {"sections", "render"}
    assert ("forgetbench.report.sections.format", ["_decimals"]) in imports(bad)


def test_public_entry_points_stay():
    import forgetbench.report as report

    for name in ("write_report", "main", "plot_heatmap", "r_squared_quadratic"):
        assert callable(getattr(report, name)), name
