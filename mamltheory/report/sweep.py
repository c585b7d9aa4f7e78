"""`mamltheory report --sweep NAME`: a Markdown table and a plot of one sweep's stored results.

Per run: the swept values, the final exact ‖∇F(w_K)‖ (mean, min, max over the replicates that did
not diverge), divergences, failures, and whether the run lies outside the theorems' hypotheses
(`--outside-theory`). The plot puts the final mean against the swept parameter (α when α is swept),
one line per algorithm and per value of the other swept fields, replicates of all seeds pooled.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from mamltheory.errors import InputError
from mamltheory.report.markdown import plain

# Axes never put on the x-axis of the plot: labels, or pooled over.
_NOT_X = {"algorithm", "problem", "seed", "record", "step", "delta_rule"}
_POOLED = {"seed"}  # replicates of every seed are pooled into one point


def _cell(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x).replace("|", "\\|").replace("\n", " ")


def load(store_path: str, name: str) -> dict[str, Any]:
    """The sweep `name` from the store: its config text and, per run, config, result or failure."""
    from mamltheory.sweep.config import display_axes
    from mamltheory.store import ResultStore

    if not Path(store_path).exists():
        raise InputError(f"--store: {store_path} does not exist (run `mamltheory sweep CONFIG --store {store_path}`)")
    with ResultStore(store_path) as db:
        sweep = db.sweep(name)
        if sweep is None:
            names = db.sweep_names()
            raise InputError(f"--sweep: no sweep named {name!r} in {store_path} (stored: "
                             f"{', '.join(names) if names else 'none'})")
        keys = [m["key"] for m in sweep["runs"]]
        failures = db.failed(keys)
        for m in sweep["runs"]:
            m["result"] = db.get(m["key"])
            m["config"] = db.config(m["key"]) or failures.get(m["key"], {}).get("config")
            m["failure"] = failures.get(m["key"])
    import tomllib

    swept: set[str] = set()
    try:
        data = tomllib.loads(sweep["source"])
        swept = {k for k in data.get("grid", {}) if k != "params"}
        swept |= {f"params.{k}" for k in data.get("grid", {}).get("params", {})}
        swept |= {k if k != "params" else f"params.{p}" for r in data.get("runs", []) for k in r
                  for p in (r[k] if k == "params" else [None])}
    except tomllib.TOMLDecodeError:  # pragma: no cover - it was validated when the sweep ran
        pass
    sweep["axes"] = display_axes([m["config"] for m in sweep["runs"] if m["config"]], swept)
    return sweep


def _final(result: dict[str, Any]) -> list[float]:
    return [v for v in result["grad_norm"][-1] if v is not None and math.isfinite(v)]


def _x_axis(axes: list[str], runs: list[dict[str, Any]]) -> str | None:
    from mamltheory.sweep.config import flatten

    if "alpha" in axes:
        return "alpha"
    for a in axes:
        if a not in _NOT_X and all(isinstance(flatten(m["config"]).get(a), (int, float))
                                   for m in runs if m["config"]):
            return a
    return None


def plot(sweep: dict[str, Any], path: Path) -> str | None:
    """Final mean ‖∇F‖ against the swept parameter per algorithm (and other swept values); None if no runs."""
    from mamltheory.report.plots import COLORS, pyplot
    from mamltheory.sweep.config import flatten

    runs = [m for m in sweep["runs"] if m["result"] is not None and m["config"]]
    if not runs:
        return None
    axes = sweep["axes"]
    x = _x_axis(axes, runs)
    group_axes = [a for a in axes if a != x and a not in _POOLED and a != "algorithm"]
    groups: dict[tuple[Any, ...], dict[Any, dict[str, Any]]] = {}
    for m in runs:
        flat = flatten(m["config"])
        g = (flat["algorithm"], *(flat.get(a) for a in group_axes))
        xv = flat.get(x) if x else flat["algorithm"]
        cell = groups.setdefault(g, {}).setdefault(xv, {"values": [], "outside": False})
        cell["values"] += _final(m["result"])
        cell["outside"] |= bool(m["outside_theory"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    positive, lows, highs = True, [], []
    styles: dict[str, int] = {}  # lines of one algorithm share its colour and differ in line style
    for i, (g, cells) in enumerate(sorted(groups.items(), key=lambda kv: repr(kv[0]))):
        xs = sorted(cells, key=lambda v: (isinstance(v, str), v))
        xs = [v for v in xs if cells[v]["values"]]
        if not xs:
            continue
        vals = [np.asarray(cells[v]["values"]) for v in xs]
        mean = np.array([v.mean() for v in vals])
        lo, hi = mean - np.array([v.min() for v in vals]), np.array([v.max() for v in vals]) - mean
        positive &= bool((mean > 0).all())
        lows.append(float(mean.min()))
        highs.append(float(mean.max()))
        n_style = styles[g[0]] = styles.get(g[0], -1) + 1
        pos = np.asarray(xs, float) if x else np.arange(len(xs)) + 0.08 * i
        color = COLORS.get(g[0], f"C{i % 10}")
        label = g[0] + "".join(f", {a}={_cell(v)}" for a, v in zip(group_axes, g[1:]))
        ax.errorbar(pos, mean, yerr=[lo, hi], color=color, marker="o", capsize=3, lw=1.2, label=label,
                    ls=("-", "--", ":", "-.")[n_style % 4] if x else "none")
        out = [j for j, v in enumerate(xs) if cells[v]["outside"]]
        if out:  # outside the theory: hollow markers
            ax.plot(pos[out], mean[out], "o", mfc="white", mec=color, ms=9, zorder=5)
    if x:
        ax.set_xlabel("α" if x == "alpha" else x)
        values = [flatten(m["config"]).get(x) for m in runs]
        if all(isinstance(v, (int, float)) and v > 0 for v in values) and max(values) / min(values) > 20:
            ax.set_xscale("log")
    else:
        ax.set_xticks([])
        ax.set_xlabel("algorithm")
    if positive and lows and max(highs) / min(lows) > 10:
        ax.set_yscale("log")
    ax.set_ylabel("final exact ‖∇F(w_K)‖ (mean; bars: min–max)")
    ax.set_title(f"sweep {sweep['name']}" + (" (hollow: outside the theory)" if any(
        m["outside_theory"] for m in runs) else ""), fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"final ‖∇F(w_K)‖ against {x or 'algorithm'}, one line per " + (
        "algorithm" + (" and " + ", ".join(group_axes) if group_axes else "")) + \
        (", replicates of all seeds pooled" if "seed" in axes else "")


def build(store_path: str, name: str, out_dir: str | Path, command: str,
          sweep: dict[str, Any] | None = None) -> Path:
    """Write sweep-NAME.md (and sweep-NAME.png) into out_dir; return the Markdown path (`sweep`: `load`'s result)."""
    from mamltheory.sweep.config import flatten

    sweep = load(store_path, name) if sweep is None else sweep
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    axes = sweep["axes"]
    runs = sweep["runs"]
    header = ["#", *axes, "status", "final mean ‖∇F‖", "min", "max", "diverged", "outside the theory"]
    rows = []
    for m in runs:
        flat = flatten(m["config"]) if m["config"] else {}
        if m["result"] is not None:
            v = _final(m["result"])
            stats = [sum(v) / len(v) if v else None, min(v) if v else None, max(v) if v else None]
            status, div = "done", f"{len(m['result']['diverged'])}/{len(m['result']['replicates'])}"
        elif m["failure"]:
            stats, div = [None] * 3, "—"
            status = f"failed after {m['failure']['attempts']} attempt(s): {m['failure']['reason']}"
        else:
            stats, div, status = [None] * 3, "—", "not run yet"
        rows.append([m["index"], *(flat.get(a) for a in axes), status, *stats, div,
                     "; ".join(m["outside_theory"]) or ""])
    counts = {"done": sum(m["result"] is not None for m in runs),
              "failed": sum(m["result"] is None and bool(m["failure"]) for m in runs)}
    counts["missing"] = len(runs) - counts["done"] - counts["failed"]
    outside = sum(bool(m["outside_theory"]) for m in runs)
    png = out / f"sweep-{name}.png"
    caption = plot(sweep, png)
    parts = [
        f"# Sweep `{name}`",
        f"Regenerate with: `{command}`  \nGenerated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC from "
        f"`{store_path}`; config `{sweep['config_path']}` (as stored when the sweep last ran, below).",
        f"**{len(runs)} runs: {counts['done']} done, {counts['failed']} failed, {counts['missing']} not run yet"
        + (f"; {outside} outside the theory (run with `--outside-theory`)" if outside else "") + ".**",
        "Final value: the exact ‖∇F(w_K)‖ at the last iteration, over the replicates that did not diverge "
        "(a diverged replicate is a recorded outcome, counted in *diverged*).",
    ]
    if caption:
        parts.append(f"![{caption}]({png.name})\n\n*{caption}.*")
    parts.append("## Runs\n\n" + "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]))
    parts.append(f"## Config\n\n```toml\n{sweep['source'].rstrip()}\n```")
    path = out / f"sweep-{name}.md"
    path.write_text(plain("\n\n".join(parts) + "\n"), encoding="utf-8")  # no numpy reprs in failure reasons
    return path
