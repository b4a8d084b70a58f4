"""Report plots of a large sweep: one colour per family past MAX_GROUPS points, 20 distinct colours."""
from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from test_report import RUNS, _table_rows  # noqa: E402

from forgetbench.report import write_report  # noqa: E402


def test_a_sweep_of_many_points_is_plotted_one_colour_per_family(tmp_path, monkeypatch):
    """13 sweep points (over MAX_GROUPS = 12): the plots draw two families, not 13 legend entries;
    the tables keep every point."""
    import forgetbench.report.render.report as report

    for k in range(13):
        method, family = ("sft", "sft_dial") if k < 5 else ("grpo", "grpo")
        res = dict(RUNS[(method, 0)], family=family, label=f"steps={k}")
        d = tmp_path / family / f"steps={k}" / "seed0"
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps(res))
    drawn = {}
    for name in ("plot_pareto", "plot_decline"):
        real = getattr(report, name)
        monkeypatch.setattr(report, name, lambda groups, path, title, _n=name, _f=real:
                            drawn.setdefault(_n, ({g: len(rs) for g, rs in groups.items()}, title)) and _f(groups, path, title))
    md = write_report(tmp_path).read_text()
    assert drawn["plot_pareto"][0] == {"sft_dial": 5, "grpo": 8}
    assert drawn["plot_decline"] == ({"sft_dial": 5, "grpo": 8}, "toy: old-task decline (95% CI, points pooled by family)")
    assert len(_table_rows(md, "method")) == 13


def test_up_to_20_plotted_groups_get_distinct_colours(tmp_path, monkeypatch):
    import matplotlib.colors as mcolors

    import forgetbench.report.render.plots as plots
    from forgetbench.report.render.figure import group_colour
    from forgetbench.report.runs import Run

    figs = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figs.append(fig) or path)
    groups = {f"g{k}": [Run(tmp_path / f"g{k}", dict(RUNS[("sft", 0)], label=f"g{k}"))] for k in range(13)}
    plots.plot_pareto(groups, tmp_path / "p.png", "t")
    colours = {mcolors.to_hex(c.get_facecolor()[0]) for c in figs[0].axes[0].collections}
    assert len(colours) == 13          # matplotlib's default cycle would repeat after 10
    assert group_colour(12, 13) == plots.plt.get_cmap("tab20").colors[12] and group_colour(3, 5) == "C3"
