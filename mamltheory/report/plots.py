"""PNG plots of the report: ‖∇F(w_k)‖ against k with the bound, bias floors against α, time against d."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COLORS = {"maml": "#1f77b4", "fo-maml": "#d62728", "hf-maml": "#2ca02c", "maml-hvp": "#9467bd"}


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend (reports are written without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def trajectories(runs: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Mean ‖∇F(w_k)‖ over replicates with a 95% band (t interval), one line per algorithm, bound dashed.

    runs: dicts with "algorithm", "k", "grad_norm" ((len k) × R) and "bound".
    """
    from scipy import stats

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in runs:
        k = np.asarray(r["k"])
        G = np.asarray(r["grad_norm"], float)
        n = np.sum(np.isfinite(G), axis=1)
        mean = np.nanmean(G, axis=1)
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * np.nanstd(G, axis=1, ddof=1) / np.sqrt(np.maximum(n, 1))
        c = COLORS.get(r["algorithm"], "k")
        ax.plot(k, mean, color=c, label=f"{r['algorithm']} (R = {G.shape[1]})")
        ax.fill_between(k, np.maximum(mean - half, 1e-300), mean + half, color=c, alpha=0.2)
        ax.axhline(r["bound"], color=c, ls="--", lw=1, label=f"{r['algorithm']} bound {r['bound']:.3g}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("‖∇F(w_k)‖ (exact)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def floors(series: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Bias floors ‖∇F(w*)‖ against α, log-log; series: dicts with "algorithm", "alpha", "floor"."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in series:
        y = np.maximum(np.asarray(s["floor"], float), 1e-18)
        ax.plot(s["alpha"], y, "o-", color=COLORS.get(s["algorithm"], "k"), label=s["algorithm"])
    a = np.asarray(series[0]["alpha"], float)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("inner step α")
    ax.set_ylabel("‖∇F(w*)‖ at the fixed point (B, D → ∞)")
    ax.set_title(title, fontsize=10)
    if len(a):
        ax.plot(a, series[0]["floor"][-1] * a / a[-1], ":", color="gray", label="slope 1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def times(series: list[dict[str, Any]], path: Path) -> Path:
    """Seconds per iteration against d, log-log; series: dicts with "algorithm", "d", "seconds", "slope"."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in series:
        ax.plot(s["d"], s["seconds"], "o-", color=COLORS.get(s["algorithm"], "k"),
                label=f"{s['algorithm']} (exponent {s['slope']:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("seconds per iteration")
    ax.set_title("Time per iteration (B = 32, D = 32, one replicate)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
