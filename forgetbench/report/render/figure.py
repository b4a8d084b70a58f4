"""What every report figure shares: file-name slugs, the group palette, legends and saving."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def slug(s: str) -> str:
    """``s`` as a file-name fragment (runs of other characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_") or "x"


def palette(n_groups: int) -> list:
    """Colours for ``n_groups`` groups: matplotlib's C0–C9, or tab20's 20 past 10 groups, so that
    no two of up to 20 groups share one."""
    return list(plt.get_cmap("tab20").colors) if n_groups > 10 else [f"C{k}" for k in range(10)]


def group_colour(k: int, n_groups: int):
    """The k-th of ``n_groups`` groups' colour (``palette``)."""
    colours = palette(n_groups)
    return colours[k % len(colours)]


def distinct_colours(axes, n_groups: int) -> None:
    """Past 10 groups every axis cycles through ``palette(n_groups)`` (up to 10, the default C0–C9)."""
    if n_groups > 10:
        for ax in np.atleast_1d(axes):
            ax.set_prop_cycle(color=palette(n_groups))


def legend(ax, fontsize: int = 8) -> None:
    """The axis's legend, or "no data yet" in its middle when nothing was drawn."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=fontsize)
    else:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)


def save(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (parents made; tight layout, 110 dpi), close it and return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
