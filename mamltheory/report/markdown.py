"""The Markdown report: a first screen a theorist reads (defects, plan, tightness), the checks, appendix files.

`build(record, store, out_dir, command)` writes `report.md` (the summary, the contradicted checks, the plots,
provenance; under `MAIN_LIMIT` bytes) and the long tables into appendix files next to it, each linked from
`report.md`: `appendix-defects.md`, `appendix-checks.md`, `appendix-tightness.md`, `appendix-audit.md`,
`appendix-plan.md` (encoded results and the full plans), `appendix-sinusoid.md`. Every text goes through
`plain`, so no numpy repr (``np.float64(0.1)``) reaches the page.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from mamltheory.assumptions import ProblemConstants
from mamltheory.report import plots

REFERENCE = ProblemConstants(L=1.0, rho=1.0, sigma=0.5, sigma_tilde=1.0, sigma_H=1.0)
REFERENCE_EPS, REFERENCE_GAP = 0.1, 10.0
PLAN_COMMAND = ("mamltheory plan --algorithm all --L 1 --rho 1 --sigma 0.5 --sigma-tilde 1 --sigma-h 1 "
                f"--eps {REFERENCE_EPS:g} --initial-gap {REFERENCE_GAP:g}")
MAIN_LIMIT = 30_000  # bytes of report.md: the summary, not the evidence
MAX_LISTED = 8       # names listed inline before "and N more"

APPENDIX = {"defects": "appendix-defects.md", "checks": "appendix-checks.md", "tightness": "appendix-tightness.md",
            "audit": "appendix-audit.md", "plan": "appendix-plan.md", "sinusoid": "appendix-sinusoid.md"}

# numpy 2 reprs: np.float64(0.1), np.int64(3), np.str_('x'), np.True_ -> 0.1, 3, x, True
_NP_REPR = re.compile(r"np\.(?:float|int|uint|complex|longdouble|bool)\w*\(([^()]*)\)")
_NP_STR = re.compile(r"np\.str_\((['\"])(.*?)\1\)")
_NP_BOOL = re.compile(r"np\.(True|False)_")


def plain(text: str) -> str:
    """`text` with numpy scalar reprs replaced by the numbers (or strings, booleans) they hold."""
    text = _NP_STR.sub(r"\2", text)
    text = _NP_BOOL.sub(r"\1", text)
    return _NP_REPR.sub(r"\1", text)


def _cell(text: Any) -> str:
    return plain(str(text)).replace("|", "\\|").replace("\n", " ")


def _math(latex: str) -> str:
    # Inside a Markdown table `\|` is an escaped pipe; write norms as \Vert so the formula survives.
    return "$" + latex.replace("\\|", "\\Vert ").replace("|", "\\vert ") + "$"


def _num(x: Any) -> str:
    """A number as a number: numpy scalars unwrapped, 4 significant digits, ∞ for infinity, — for nothing."""
    if hasattr(x, "item") and not isinstance(x, (list, tuple, dict)):
        x = x.item()  # numpy scalar -> Python
    if isinstance(x, str) and x in ("inf", "Infinity", "-inf", "-Infinity"):
        x = float(x)  # JSON has no infinity: records store it as text
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:d}" if abs(x) < 10**7 else f"{x:.3g}".replace("e+", "e")
    if isinstance(x, float):
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        return f"{x:.4g}".replace("e+", "e")
    return "—" if x is None else _cell(x)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _link(key: str, anchor: str = "") -> str:
    return f"[{APPENDIX[key]}]({APPENDIX[key]}{'#' + anchor if anchor else ''})"


# ---- the first screen ---------------------------------------------------------------------------------------

def header_lines(record: dict[str, Any], command: str) -> str:
    """Command, commit, mode, seed, wall time; then the verdict counts (`summary_line`)."""
    from mamltheory.verify.check import summary_counts, summary_line

    prov = record["provenance"]
    counts = summary_counts(record["checks"])
    return (f"Regenerate with: `{command}` · commit {prov.get('commit') or 'unknown'} · {prov.get('mode')} mode · seed "
            f"{prov.get('seed')} · {_num(prov.get('wall_seconds'))} s of checks · generated "
            f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
            f"**{counts['checks']} checks: {summary_line(counts)}.**")


def _short_repair(repair: str) -> str:
    """The repair without its trailing pointer into docs/repaired-theorems.md (named once, under the table)."""
    from mamltheory.verify.defects import REPAIRS

    return re.sub(rf" \({re.escape(REPAIRS)}[^()]*\)$", "", repair)


def repairs_link(out: Path | None) -> str:
    """The repaired theorems' page as a link that works from `out` (the repository's docs/ seen from the working
    directory), or its name in the repository when this working directory is not a checkout."""
    from mamltheory.verify.defects import REPAIRS

    page = Path.cwd() / REPAIRS
    if out is None or not page.is_file():
        return f"{REPAIRS} in the mamltheory repository"
    return f"[{REPAIRS}]({Path(os.path.relpath(page, out.resolve())).as_posix()})"


def defects_section(record: dict[str, Any], out: Path | None = None) -> str:
    """'## N defects in the paper (M break a conclusion)': id, source, severity, repair, each root cause once."""
    from mamltheory.verify.defects import annotate, lead_line

    if "defects" not in record:
        annotate(record)
    rows = [[d["id"], d["source"], d["severity"], _short_repair(d["repair"]), len(d["checks"])]
            for d in record["defects"]]
    text = (f"## {lead_line(record['defects'])}\n"
            + _table(["defect", "source", "severity", "repair", "checks"], rows)
            + f"\n\nRepairs: {repairs_link(out)}. `checks`: the contradicted checks and failing audit findings each explains; "
              f"what is wrong, the damage and a witness: {_link('defects')}.")
    if record.get("unexplained"):
        names = [_cell(u["name"] + (f" ({u['why']})" if u.get("why") else "")) for u in record["unexplained"]]
        more = f"; and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
        text += (f" **{len(names)} failing checks no defect explains:** " + "; ".join(names[:MAX_LISTED]) + more + ".")
    return text


@lru_cache(maxsize=1)
def _plans() -> tuple[tuple[str, Any], ...]:
    """(theory, plan) for the reference configuration, the default theory first; ★ marks the cheapest plan among
    the guaranteed ones of every theory (a plan resting on a failing proof step is never recommended)."""
    from mamltheory.bounds.planner import plan_all
    from mamltheory.bounds.theory import DEFAULT_THEORY, THEORIES

    order = (DEFAULT_THEORY, *(th for th in THEORIES if th != DEFAULT_THEORY))
    out = [(th, p) for th in order for p in plan_all(REFERENCE, REFERENCE_EPS, REFERENCE_GAP, theory=th)]
    costs = [(p.total_samples, i) for i, (_, p) in enumerate(out)
             if p.feasible and p.guaranteed and p.total_samples is not None]
    best = min(costs)[1] if costs else None
    for i, (_, p) in enumerate(out):
        p.cheapest = i == best
    return tuple(out)   # made once: the summary table and the plan appendix show the same plans


def plan_section() -> str:
    """The reference plan under every theory side by side: one row per (algorithm, theory)."""
    from mamltheory.bounds.theory import THEORIES

    rows, notes = [], []
    for theory, p in _plans():
        guaranteed = ("no: fails at " + ", ".join(p.failing_steps) if not p.guaranteed
                      else f"yes, by {p.proved_by}" if p.proved_by else "yes")
        if not p.feasible:
            rows.append([p.algorithm, theory, guaranteed + "; no plan (below)", _num(p.alpha), *["—"] * 8, ""])
            notes.append(f"{p.algorithm} ({theory}): {p.reason}")
            continue
        b = p.batch
        rows.append([p.algorithm, theory, guaranteed, _num(p.alpha), str(p.step_divisor),
                     *(_num(b.get(k)) for k in ("B", "D_in", "D_o", "D_h")),
                     _num(p.delta), _num(p.iterations), _num(p.total_samples), "★" if p.cheapest else ""])
    return ("## Planner, reference configuration\n"
            f"`{PLAN_COMMAND} --theory {'|'.join(THEORIES)}` (L = 1, ρ = 1, σ = 0.5, σ̃ = 1, σ_H = 1, ε = 0.1, Δ = 10)\n\n"
            + _table(["algorithm", "theory", "guaranteed", "α", "c", "B", "D_in", "D_o", "D_h", "δ", "T",
                      "total samples", "★ cheapest"], rows)
            + "\n\n" + "".join(f"- {_cell(n)}\n" for n in notes)
            + f"- ★: fewest total samples among the guaranteed plans. Step rules, β_k, accuracy bounds and every "
              f"note: {_link('plan')}.")


def _instance_words(row: dict[str, Any], check: dict[str, Any]) -> str:
    """The instance of a tightness row in a few words (the reproducible recipe is in the appendix)."""
    d = check.get("details") or {}
    if "setting" in d:
        return f"{d['setting']}, ε = {_num(d.get('eps'))}"
    if "search" in d:
        inst = d.get("instance") or {}
        label = inst.get("label") or ""
        n = len(inst.get("p") or ())
        dim = len(inst.get("a") or ()) or None
        a_l = (d.get("parameters") or {}).get("aL")
        bits = [str(d["search"])] + ([f"{n} task{'s' if n != 1 else ''}"] if n else []) + (
            [f"{dim}-D"] if dim else []) + ([f"αL = {_num(a_l)}"] if a_l is not None else []) + ([label] if label else [])
        return ", ".join(bits)
    return str(row.get("claim", ""))


def tightness_rows(record: dict[str, Any]) -> list[list[Any]]:
    """The compact tightness table: inequality and theorem rows as they are, certificates one row per family."""
    from mamltheory.verify.check import CONTRADICTED, HOLDS
    from mamltheory.verify.tightness import tightness_table

    checks = [c for c in record.get("checks", []) if c.get("kind") == "tightness"]
    rows, certs = [], {}
    for r, c in zip(tightness_table(record), checks):
        d = c.get("details") or {}
        if "family" in d and "looseness" in d:
            certs.setdefault(d["family"], []).append((r, d))
            continue
        ratio = ("≤ " if not r.get("ratio_exact", True) else "") + _num(r["worst_ratio"])
        rows.append([r["result"], r["claim"], ratio, r["verdict"], _instance_words(r, c)])
    for family, items in certs.items():
        verdicts = {r["verdict"] for r, _ in items}
        verdict = CONTRADICTED if CONTRADICTED in verdicts else HOLDS if HOLDS in verdicts else sorted(verdicts)[0]
        worst = max((r["worst_ratio"] for r, _ in items if r["worst_ratio"] is not None), default=None)
        finite = [(d["looseness"], d["constant"]) for _, d in items
                  if isinstance(d["looseness"], (int, float)) and math.isfinite(d["looseness"])]
        loosest = max(finite) if finite else None
        words = (f"loosest: {loosest[1]} certified {_num(loosest[0])} × its estimate" if loosest else "")
        placeholders = [d["constant"] for _, d in items if not (isinstance(d["looseness"], (int, float))
                                                                and math.isfinite(d["looseness"]))]
        if placeholders:
            words += ("; " if words else "") + f"estimate 0 (placeholder): {', '.join(placeholders)}"
        rows.append([f"{family}: certified constants", "sampled estimate / certificate, over L, ρ, σ, σ̃, σ_H",
                     _num(worst), verdict, words])
    return rows


def tightness_section(record: dict[str, Any]) -> str:
    """'## Tightness': result, claim, worst ratio, verdict, instance in a few words; recipes in the appendix."""
    rows = tightness_rows(record)
    if not rows:
        return "## Tightness\nNo tightness rows in this record (`mamltheory verify --only tightness`)."
    return ("## Tightness\n"
            + _table(["result", "claim", "worst ratio", "verdict", "instance"], rows)
            + "\n\nWorst observed/bound over exact instances (> 1 violates the claim; ≤: an upper bound, the run "
              f"stopped before T). Each instance, reproducible in a few lines: {_link('tightness')}.")


# ---- the checks ------------------------------------------------------------------------------------------------

SECTION_TITLES = (("encoding", "Encoded statements and certificates against their derivations", ("encoding", "certificate")),
                  ("plans", "The planner against its theorems", ("plans",)),
                  ("conformance", "Conformance of the shipped algorithms", ("conformance",)),
                  ("lemma", "Lemma checks", ("lemma",)), ("theorem", "Theorem checks", ("theorem",)),
                  ("scaling", "Scaling laws and timings", ("scaling", "measurement")),
                  ("falsify", "Falsification search", ("counterexample", "falsify")),
                  ("tightness", "Tightness", ("tightness",)))


def _kinds(checks: list[dict[str, Any]], kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    return [c for c in checks if c["kind"] in kinds]


def checks_table(checks: list[dict[str, Any]], defect: bool = False) -> str:
    """One row per check with its power and evidence; with `defect`, the id of the paper's defect that explains it."""
    from mamltheory.verify.defects import failing

    rows = [[c["name"], c["source"], c["verdict"],
             *([c.get("defect", "unexplained" if failing(c) else "—")] if defect else []),
             _num(c.get("observed")), _num(c.get("bound")), _num(c.get("ratio")), _num(c.get("power")), c["evidence"]]
            for c in checks]
    return _table(["check", "source", "verdict", *(["defect"] if defect else []), "observed", "bound", "ratio",
                   "power", "evidence"], rows)


SHORT_EVIDENCE = 120  # characters of a check's evidence in report.md; the appendix has all of it


def _claim_and_finding(c: dict[str, Any]) -> tuple[str, str]:
    """What the paper claims and what the check found: the bound and the observed value (with their ratio), the
    audit's claimed and derived values, or else the start of the evidence."""
    details = c.get("details") or {}
    if c.get("bound") is not None or c.get("observed") is not None:
        ratio = f" (ratio {_num(c.get('ratio'))})" if c.get("ratio") is not None else ""
        return _num(c.get("bound")), _num(c.get("observed")) + ratio
    if details.get("claimed") is not None and details.get("derived") is not None:
        return str(details["claimed"]), str(details["derived"])
    evidence = c["evidence"]
    cut = evidence if len(evidence) <= SHORT_EVIDENCE else evidence[:SHORT_EVIDENCE].rsplit(" ", 1)[0] + " …"
    return str(details.get("claimed") or "see the evidence"), cut


def _short_table(checks: list[dict[str, Any]]) -> str:
    """check (with its source when the name does not hold it), defect, the claim and the finding."""
    rows = []
    for c in checks:
        name = c["name"] if c["source"] in c["name"] else f"{c['name']} ({c['source']})"
        rows.append([name, c.get("defect", "unexplained"), *_claim_and_finding(c)])
    return _table(["check", "defect", "the paper's claim", "found"], rows)


def _ratio(c: dict[str, Any]) -> float:
    """A check's ratio as a float for ordering (stored infinities are text; no ratio counts as 0)."""
    r = c.get("ratio")
    try:
        return float(r) if r is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def checks_overview(record: dict[str, Any], listed: bool = True) -> str:
    """Per section: the verdicts counted apart and a link to its full table; then the contradicted checks, one
    row each (`listed`) or, when that list would not fit in report.md, counted by the defect that explains them."""
    from mamltheory.verify.check import CONTRADICTED, ERROR, VERDICTS

    checks = record["checks"]
    rows = []
    audit = [c for c in checks if c["kind"].startswith("audit")]
    groups = [(title, _kinds(checks, kinds), _link(key, "evidence") if key == "tightness" else
               _link("checks", _anchor(title))) for key, title, kinds in SECTION_TITLES]
    groups.insert(0, ("Audit of the paper's arithmetic and units", audit, _link("audit")))
    known = {c["kind"] for _, group, _ in groups for c in group}
    other = [c for c in checks if c["kind"] not in known]
    if other:
        groups.append(("Other: " + ", ".join(sorted({c["kind"] for c in other})), other, _link("checks", "other")))
    for title, group, link in groups:
        if group:
            rows.append([title, len(group), *(sum(c["verdict"] == v for c in group) for v in VERDICTS), link])
    text = ("## Checks\nPower: the smallest violation ratio a check would have detected; a vacuous check could not "
            "have failed (its bound is out of the run's reach) and is not support. Appendices: "
            + ", ".join(_link(k) for k in APPENDIX) + ".\n\n"
            + _table(["section", "checks", *VERDICTS, "every check, with its evidence"], rows))
    bad = [c for c in checks if c["verdict"] == CONTRADICTED]
    if bad and listed:
        text += ("\n\n### What contradicts the paper\n" + _short_table(bad))
    elif bad:
        by: dict[str, list[dict[str, Any]]] = {}
        for c in bad:
            by.setdefault(c.get("defect", "unexplained"), []).append(c)
        text += ("\n\n### What contradicts the paper\n"
                 + _table(["defect", "contradicted checks", "largest ratio"],
                          [[d, len(cs), _num(max((_ratio(c) for c in cs), default=None))] for d, cs in by.items()])
                 + f"\n\nEach check with its evidence: {_link('checks')}, {_link('audit')}, {_link('tightness')}.")
    errors = [c for c in checks if c["verdict"] == ERROR]
    if errors:
        text += ("\n\n### Checks that crashed\n"
                 + _table(["check", "evidence"], [[c["name"], c["evidence"]]
                                                  for c in errors[:MAX_LISTED if not listed else len(errors)]]))
        if not listed and len(errors) > MAX_LISTED:
            text += f"\n\n… and {len(errors) - MAX_LISTED} more: {_link('checks')}."
    return text


def encoded_results_section() -> str:
    from mamltheory.bounds import RESULTS

    rows = []
    for b in RESULTS:
        pre = "; ".join(f"{c.text} ({c.source})" for c in b.preconditions) or "—"
        rel = {"upper": "≤", "lower": "≥", "definition": "="}[b.kind]
        rows.append([b.name, b.source, f"{b.quantity} {rel}", _math(b.latex), pre])
    return "## Encoded results\n\n" + _table(["result", "source", "quantity", "bound", "preconditions"], rows)


def full_plan_section() -> str:
    """Every field of the reference plans under every theory, with the planner's notes (and, for the sharp theory,
    the free choices its search chose)."""
    from mamltheory.bounds.render import choices_line
    from mamltheory.bounds.theory import THEORIES

    parts, both = [], _plans()
    for theory in THEORIES:
        plans = [p for th, p in both if th == theory]
        keys = [("theorem", lambda p: p.theorem), ("guaranteed", lambda p: _num(p.guaranteed)),
                ("α", lambda p: _num(p.alpha)),
                *((k, (lambda k: lambda p: _num(p.batch.get(k)))(k))
                  for k in ("B", "D_in", "D_o", "D_h", "B_prime", "D_beta")),
                ("β_k", lambda p: f"β̃(w_k)/{p.step_divisor}"), ("δ", lambda p: _num(p.delta)),
                ("E‖∇F‖ bound", lambda p: _num(p.accuracy_bound)), ("iterations T", lambda p: _num(p.iterations)),
                ("samples / iteration", lambda p: _num(p.samples_per_iteration)),
                ("total samples", lambda p: _num(p.total_samples))]
        rows = [[name, *(f(p) if p.feasible or name in ("theorem", "guaranteed") else "—" for p in plans)]
                for name, f in keys]
        header = ["", *(p.algorithm + (" ★" if p.cheapest else "") + ("" if p.feasible else " (no plan)")
                        for p in plans)]
        notes = "\n".join(f"- {p.algorithm}: {_cell(n)}" for p in plans
                          for n in ([p.reason] if p.reason else []) + list(p.notes)
                          + ([p.delta_rule] if p.delta_rule else [])
                          + ([choices_line(p.choices)] if p.choices and p.feasible else []))
        parts.append(f"## Theory: {theory}\n\n`{PLAN_COMMAND} --theory {theory}`\n\n" + _table(header, rows)
                     + "\n\n" + notes)
    return "\n\n".join(parts)


# ---- plots ----------------------------------------------------------------------------------------------------

def _trajectory_plot(record: dict[str, Any], store: str, out: Path) -> list[str]:
    from mamltheory.store import ResultStore

    lines = []
    by_family: dict[str, list[dict[str, Any]]] = {}
    with ResultStore(store) as db:
        for c in record["checks"]:
            key = c.get("details", {}).get("store_key")
            if c["kind"] != "theorem" or not key:
                continue
            stored, config = db.get(key), db.config(key)
            if stored is None or config is None:
                continue
            by_family.setdefault(config["problem"], []).append({"algorithm": config["algorithm"], "k": stored["k"],
                                                  "grad_norm": [[float("nan") if v is None else v for v in row]
                                                                for row in stored["grad_norm"]],
                                                  "bound": c["bound"]})
    for fam, runs in by_family.items():
        name = f"trajectories-{fam}.png"
        plots.trajectories(runs, out / name, f"{fam}: theorem step rule, planner's K-shot batches; "
                                             "dashed: the theorem's bound")
        lines.append(f"![‖∇F(w_k)‖ on {fam}]({name})")
    return lines


def plot_lines(record: dict[str, Any], store: str, out: Path) -> list[str]:
    """Trajectories against the theorem bounds, bias floors against α, time against d (PNGs in `out`)."""
    scaling = _kinds(record["checks"], ("scaling", "measurement"))
    lines = _trajectory_plot(record, store, out)
    bias = [c for c in scaling if c.get("id", "").startswith("scaling.bias-floor-alpha.")
            and {"algorithm", "alpha", "floor"} <= set(c.get("details") or {})]
    if bias:
        series = [{k: c["details"][k] for k in ("algorithm", "alpha", "floor")} for c in bias]
        plots.floors(series, out / "floors.png", "Bias floors with exact expectations (B, D → ∞)")
        lines.append("![bias floors against α](floors.png)")
    timing = [c for c in scaling
              if c.get("id", "").startswith("scaling.time-d.") and "slope" in (c.get("details") or {})]
    if timing:
        plots.times([{"algorithm": c["details"]["algorithm"], "d": c["details"]["d"],
                      "seconds": c["details"]["seconds"], "slope": c["details"]["slope"]["slope"]} for c in timing],
                    out / "time.png")
        lines.append("![time per iteration against d](time.png)")
    return lines


# ---- the files ------------------------------------------------------------------------------------------------

def _appendix(title: str, body: str) -> str:
    return f"# {title}\n\nPart of [report.md](report.md).\n\n{body}\n"


def appendices(record: dict[str, Any], store: str, out: Path) -> dict[str, str]:
    """The appendix files' text by key of APPENDIX."""
    from mamltheory.report.sinusoid import sinusoid_section
    from mamltheory.verify.tightness import markdown_table

    checks = record["checks"]
    defects = _table(["defect", "source", "severity", "what is wrong", "damage", "witness", "repair",
                      "checks it explains"],
                     [[d["id"], d["source"], d["severity"], d["wrong"], d["damage"], d.get("witness") or "—",
                       d["repair"], "; ".join(r["name"] for r in d["checks"]) or "—"] for d in record["defects"]])
    sections = []
    for key, title, kinds in SECTION_TITLES:
        group = _kinds(checks, kinds)
        if group and key != "tightness":  # its evidence is in appendix-tightness.md
            sections.append(f"## {title}\n\n" + checks_table(group, defect=True))
    known = {k for *_, kinds in SECTION_TITLES for k in kinds}
    other = [c for c in checks if c["kind"] not in known and not c["kind"].startswith("audit")]
    if other:
        sections.append("## Other\n\n" + checks_table(other, defect=True))
    tight = _kinds(checks, ("tightness",))
    audit = [c for c in checks if c["kind"].startswith("audit")]
    return {
        "defects": _appendix("The paper's defects", "Each root cause once (`mamltheory verify --json`: `defects`).\n\n"
                             + defects),
        "checks": _appendix("Every check", "On the built-in task families with certified constants (lemmas: random "
                            "points, Monte Carlo where an expectation has no closed form; theorems: the theorem's step "
                            "rule and the planner's K-shot batches, split-sample statistics with a one-sided 95% "
                            "bound). Ratio > 1 is a violation.\n\n" + "\n\n".join(sections)),
        "tightness": _appendix("Tightness: worst cases and their instances",
                               markdown_table(record) + ("\n\n## Evidence\n\n" + checks_table(tight) if tight else "")),
        "audit": _appendix("Audit of the paper's arithmetic and units",
                           "`mamltheory audit` re-derives each constant of the appendix proofs in exact arithmetic "
                           "and checks the units of every encoded bound.\n\n"
                           + _table(["source", "kind", "verdict", "defect", "evidence"],
                                    [[c["source"], c["kind"].removeprefix("audit "),
                                      # a section that crashed has no audit verdict: show the check's (error)
                                      (c.get("details") or {}).get("audit_verdict", c["verdict"]),
                                      c.get("defect", "—"), c["evidence"]] for c in audit])),
        "plan": _appendix("The reference plans in full, and the encoded results",
                          full_plan_section() + "\n\n" + encoded_results_section()),
        "sinusoid": _appendix("Few-shot sinusoid regression", sinusoid_section(store, out)),
    }


def build(record: dict[str, Any], store: str, out_dir: str | Path, command: str) -> Path:
    """Write report.md, its appendix files and its PNGs into out_dir; return the path of report.md."""
    from mamltheory.verify.defects import annotate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if "defects" not in record:
        annotate(record)
    extra = appendices(record, store, out)
    for key, text in extra.items():
        (out / APPENDIX[key]).write_text(plain(text), encoding="utf-8")
    prov = record["provenance"]
    sinusoid = ("\n\n![test MSE against adaptation steps](sinusoid.png)" if (out / "sinusoid.png").exists()
                and "sinusoid.png" in extra["sinusoid"] else "")
    first = ["# mamltheory report", header_lines(record, command), defects_section(record, out), plan_section(),
             tightness_section(record)]
    parts = [
        checks_overview(record),
        *plot_lines(record, store, out),
        f"## Few-shot sinusoid regression\nMAML, FO-MAML, HF-MAML and pretraining on Finn et al.'s sinusoids, and "
        f"why the numbers differ from theirs: {_link('sinusoid')}." + sinusoid,
        "## The paper\nFallah, Mokhtari, Ozdaglar, *On the Convergence Theory of Gradient-Based Model-Agnostic "
        "Meta-Learning Algorithms*; equation numbers refer to it. Every check pairs an observed value with the paper's "
        "bound; the ratio is observed/bound for upper bounds (bound/observed for lower ones), so a ratio above 1 is a "
        f"violation. Encoded results: {_link('plan', 'encoded-results')}.",
        "## Provenance\n" + _table(["item", "value"], [[k, _num(v)] for k, v in prov.items()]),
    ]
    text = plain("\n\n".join(first + parts) + "\n")
    if len(text.encode()) > MAIN_LIMIT:  # too many contradictions to list: count them by defect instead
        text = plain("\n\n".join(first + [checks_overview(record, listed=False)] + parts[1:]) + "\n")
    path = out / "report.md"
    path.write_text(text, encoding="utf-8")
    return path
