"""The docs cannot drift: every README/docs block whose output the page shows runs, and its output is compared.

The convention a writer follows is in docs/architecture.md ("Examples in the docs are tests"):
- a ```bash (or ```console) block immediately followed by a ```text block is commands + what they print
  (each command's stdout, then its stderr); `# exit N` after a command expects status N (default 0);
  ```bash slow marks a long pair, run only under `-m slow`; a `mamltheory` command runs in-process, a
  `python ...` command (`python examples/torch_sinusoid.py`) as a child process of this interpreter, in the
  same fresh folder (a copy of examples/), with this checkout first on PYTHONPATH; a page that needs an extra
  (NEEDS: docs/torch.md needs torch, docs/limit-worst-case.md PEPit) is skipped without it;
- in a ```python block, an expression statement ending in `# → VALUE` shows VALUE, its repr; the block runs
  up to its last shown value (what follows is only compiled); ```python sketch is an outline, not compiled;
- ```LANG file=NAME defines a file the page's commands use (written into the test's working folder);
- in shown output, a line `...` elides any lines and `...` inside a line elides any text (after digits:
  the rest of the number); other numbers compare at the precision shown, runs of spaces compare as one.
Every other `mamltheory ...` command in a bash/console block is parsed by the CLI's own parser, so a
renamed flag or command fails here.
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pages not checked yet, each with the reason; deleting an entry puts that page under test.
SKIP: dict[str, str] = {}
# Pages whose examples need an optional extra: the module each imports (skipped when it is not installed).
NEEDS = {"torch.md": "torch", "limit-worst-case.md": "PEPit"}
PAGES = [ROOT / "README.md", *(p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in SKIP)]
SHELL = {"bash", "console", "sh", "shell"}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
MARK = "# →"


@dataclass
class Block:
    """One fenced block of a page: its language, info words, text and first line number."""

    page: Path
    line: int
    lang: str
    info: list[str]
    text: str
    output: Block | None = None  # the ```text block that follows a shell block
    files: dict[str, str] = field(default_factory=dict)  # the page's `file=` blocks defined before it

    @property
    def where(self) -> str:
        """`page:line`, for test ids and messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def page_blocks(page: Path) -> list[Block]:
    """Every fenced block of `page`, each shell block paired with the ```text block right after it."""
    source = page.read_text(encoding="utf-8")
    blocks: list[Block] = []
    files: dict[str, str] = {}
    previous_end = -1
    for m in FENCE.finditer(source):
        words = m.group(1).split()
        block = Block(page, source.count("\n", 0, m.start()) + 1, words[0] if words else "", words[1:],
                      m.group(2), files=dict(files))
        for word in block.info:
            if word.startswith("file="):
                files[word[5:]] = block.text
        follows = blocks and source[previous_end:m.start()].strip() == ""
        if block.lang == "text" and follows and blocks[-1].lang in SHELL and blocks[-1].output is None:
            blocks[-1].output = block
        else:
            blocks.append(block)
        previous_end = m.end()
    return blocks


def commands(text: str) -> list[tuple[list[str], int]]:
    """The commands of a shell block as argv lists with their expected exit status (`# exit N`)."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        comment = line.split(" #", 1)[1] if " #" in line else ""
        status = re.match(r"\s*exit (\d+)", comment)
        found.append((shlex.split(line, comments=True), int(status.group(1)) if status else 0))
    return found


ALL_BLOCKS = [b for page in PAGES for b in page_blocks(page)]
NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
SHOWN_TOKEN = re.compile(rf"(?P<dots>\.\.\.)|(?<![\w.])(?P<num>{NUMBER})(?![\w])")


def _line_pattern(line: str) -> tuple[str, list[str]]:
    """A regex for one shown line and the shown numbers its groups must equal at their precision."""
    pattern, numbers, pos = "", [], 0
    for m in SHOWN_TOKEN.finditer(line):
        pattern += re.escape(line[pos:m.start()])
        if m.group("dots"):
            pattern += r"[^\n]*?"
        elif line.startswith("...", m.end()):  # 2.54... : these digits, then whatever follows
            pattern += re.escape(m.group("num"))
        else:
            pattern += f"({NUMBER})"
            numbers.append(m.group("num"))
        pos = m.end()
    return pattern + re.escape(line[pos:]), numbers


def same_number(shown: str, actual: str) -> bool:
    """`actual` equals `shown` at the precision shown; an integer shown must be printed as that integer."""
    mantissa, _, exponent = shown.lower().partition("e")
    if "." not in mantissa and not exponent:
        return actual == shown
    decimals = len(mantissa.partition(".")[2])
    half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return abs(float(actual) - float(shown)) <= half_unit * (1 + 1e-9)  # 1e-9: the decimal→binary rounding


def _normalise(text: str) -> str:
    """Runs of spaces as one, no trailing spaces or blank lines: alignment is not content."""
    return "\n".join(re.sub(r"[ \t]+", " ", line).rstrip() for line in text.strip("\n").splitlines()) + "\n"


def line_matches(shown: str, actual: str) -> bool:
    """One shown line (no `...` line) against one printed line: its text, elisions and numbers."""
    pattern, numbers = _line_pattern(shown)
    m = re.fullmatch(pattern, actual)
    return m is not None and all(same_number(s, a) for s, a in zip(numbers, m.groups()))


def mismatch(shown: str, actual: str) -> str | None:
    """None when `actual` is what `shown` shows (with its elisions and precision), else why not.

    Line by line with memoised backtracking over the `...` lines, so that a number is part of whether a
    line matches (an elision cannot skip to a row that matches only in its text)."""
    want, got = _normalise(shown).splitlines(), _normalise(actual).splitlines()
    seen: dict[tuple[int, int], bool] = {}
    best = [0]  # the most shown lines matched in any attempt, for the message

    def match(i: int, j: int) -> bool:
        if (i, j) not in seen:
            best[0] = max(best[0], i)
            if i == len(want):
                seen[i, j] = j == len(got)
            elif want[i].strip() == "...":
                seen[i, j] = any(match(i + 1, k) for k in range(j, len(got) + 1))
            else:
                seen[i, j] = j < len(got) and line_matches(want[i], got[j]) and match(i + 1, j + 1)
        return seen[i, j]

    if match(0, 0):
        return None
    diff = "\n".join(difflib.unified_diff(want, got, "shown", "printed", lineterm=""))
    first = want[best[0]] if best[0] < len(want) else "(the end of the shown text)"
    return f"no match for shown line {best[0] + 1}: {first!r}\n{diff}"


def test_mismatch_follows_the_convention() -> None:
    """The comparison itself: elisions, precision and integers, on cases where the answer is known."""
    assert mismatch("L=2.54..., rho=20.39...", "L=2.54094491525675, rho=20.391258") is None
    assert mismatch("L=2.54..., rho=20.39...", "L=2.55094491525675, rho=20.391258") is not None
    assert mismatch("bound 0.863 > ε", "bound 0.8634 > ε") is None
    assert mismatch("bound 0.863 > ε", "bound 0.8636 > ε") is not None  # off by more than half a unit
    assert mismatch("T = 12,510", "T = 12,511") is not None
    assert mismatch("T = 12", "T = 12.0") is not None  # an integer shown is an integer printed
    assert mismatch("head\n...\ntail 1e-6", "head\nx\ny\ntail 1.04e-6") is None
    assert mismatch("head\n...\ntail", "head\ntail") is None
    assert mismatch("head\ntail", "head\nx\ntail") is not None  # no elision, no extra line
    assert mismatch("a  |   1.5 |", "a | 1.5 |\n\n") is None
    # An elision skips to the row whose numbers match, not to the first row of the same shape:
    assert mismatch("...\n| 7 | 0.39 |\n...", "| 5 | 0.1 |\n| 7 | 0.39 |\nend") is None
    assert mismatch("...\n| 7 | 0.39 |\n...", "| 5 | 0.1 |\n| 7 | 0.38 |\nend") is not None


def _ids(blocks: Sequence[Block]) -> list[str]:
    return [b.where for b in blocks]


def _setup_folder(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cwd = a fresh folder holding examples/ and the page's `file=` blocks; rich prints 80 columns, no colour."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for name, text in block.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def _shown_pairs(slow: bool) -> list:
    pairs = [b for b in ALL_BLOCKS if b.lang in SHELL and b.output is not None and ("slow" in b.info) == slow]
    marks = [pytest.mark.slow] if slow else []
    return [pytest.param(b, id=b.where, marks=marks) for b in pairs]


def run_python(argv: Sequence[str]) -> tuple[int, str, str]:
    """`python ARGS` as a child of this interpreter in the current folder: (exit status, stdout, stderr)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, encoding="utf-8", env=env,
                          timeout=600, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("block", _shown_pairs(False) + _shown_pairs(True))
def test_shown_command_output(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              run_cli: Callable[[Sequence[str]], tuple[int, str, str]]) -> None:
    """Each command + ```text pair prints what the page shows, with the status it expects."""
    if block.page.name in NEEDS:
        pytest.importorskip(NEEDS[block.page.name])
    _setup_folder(block, tmp_path, monkeypatch)
    printed = ""
    for argv, expected in commands(block.text):
        assert argv[0] in ("mamltheory", "python"), f"{block.where}: runs `mamltheory` or `python`, got {argv[0]}"
        code, out, err = run_cli(argv[1:]) if argv[0] == "mamltheory" else run_python(argv)
        assert code == expected, f"{block.where}: {shlex.join(argv)} exited {code}, the page expects {expected}\n{err}"
        printed += out + err
    assert block.output is not None
    problem = mismatch(block.output.text, printed)
    assert problem is None, f"{block.where}: {problem}"


def _parse_only() -> list:
    found = []
    for b in ALL_BLOCKS:
        if b.lang in SHELL:
            found += [pytest.param(argv, id=f"{b.where}:{shlex.join(argv[:2])}") for argv, _ in commands(b.text)
                      if argv and argv[0] == "mamltheory"]
    return found


@pytest.mark.parametrize("argv", _parse_only())
def test_command_parses(argv: list[str]) -> None:
    """Every `mamltheory` command in a page parses with the CLI's parser (a renamed flag fails here)."""
    from mamltheory.cli import COMMANDS, build_parser

    assert argv[1] in COMMANDS, f"no command {argv[1]!r}"
    args = build_parser(argv[1]).parse_args(argv[1:])
    assert args.command == argv[1]


def shown_values(code: str) -> list[tuple[ast.stmt, str | None]]:
    """The top-level statements of a Python block, each with the value its `# →` comment shows (or None)."""
    marks = {tok.start[0]: tok.string[len(MARK):].strip()
             for tok in tokenize.generate_tokens(io.StringIO(code).readline)
             if tok.type == tokenize.COMMENT and tok.string.startswith(MARK)}
    return [(s, marks.get(s.end_lineno or s.lineno)) for s in ast.parse(code).body]


def _python_blocks() -> list:
    return [pytest.param(b, id=b.where) for b in ALL_BLOCKS if b.lang == "python" and "sketch" not in b.info]


@pytest.mark.parametrize("block", _python_blocks())
def test_python_block(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python block compiles; up to its last shown value it runs, and each shown value is the repr printed."""
    compile(block.text, block.where, "exec")
    statements = shown_values(block.text)
    shown_at = [i for i, (_, value) in enumerate(statements) if value is not None]
    if not shown_at:
        return
    if block.page.name in NEEDS:
        pytest.importorskip(NEEDS[block.page.name])
    _setup_folder(block, tmp_path, monkeypatch)
    namespace: dict = {"__name__": "__docs__"}
    for statement, shown in statements[: shown_at[-1] + 1]:
        line = f"{block.where} + {statement.lineno - 1}"
        if shown is None:
            exec(compile(ast.Module([statement], []), line, "exec"), namespace)  # noqa: S102 - the page's code
            continue
        assert isinstance(statement, ast.Expr), f"{line}: a shown value (`{MARK}`) needs an expression"
        value = eval(compile(ast.Expression(statement.value), line, "eval"), namespace)  # noqa: S307
        problem = mismatch(shown, repr(value))
        assert problem is None, f"{line}: {problem}"


def _repository_files() -> list:
    return [pytest.param(b, name, id=f"{b.where}:{name}") for b in ALL_BLOCKS for word in b.info
            if word.startswith("file=") and (ROOT / (name := word[5:])).is_file()]


@pytest.mark.parametrize(("block", "name"), _repository_files())
def test_file_block_shows_the_repository_file(block: Block, name: str) -> None:
    """A `file=` block naming a file of the repository (examples/...) shows that file exactly."""
    assert block.text == (ROOT / name).read_text(encoding="utf-8"), f"{block.where}: differs from {name}"


# Numbers stated in prose that no example prints, each checked against the code (or, for the reference
# report's counts, against that report: `mamltheory report --full` takes minutes).
REPORT = ROOT / "reports" / "report.md"


def _table(text: str, header: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table whose header line starts with `header`."""
    lines = text[text.index(header):].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_findings_defects_table_is_the_registry_and_the_reference_report() -> None:
    """docs/findings.md's defects: ids, sources, severities from the registry; counts from reports/report.md."""
    from mamltheory.verify.defects import BREAKS, registry

    findings = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    report = REPORT.read_text(encoding="utf-8")
    rows = _table(findings, "| id | source | severity |")
    assert {(r[0], r[1], r[2]) for r in rows} == {(d.id, d.source, d.severity) for d in registry()}
    counts = {r[0]: int(r[3].split()[0]) for r in rows}
    assert counts == {r[0]: int(r[-1]) for r in _table(report, "| defect | source | severity |")}
    contradicted = int(re.search(r"contradicted (\d+)", report).group(1))
    audit = next(r for r in _table(report, "| section | checks |") if r[0].startswith("Audit"))
    claim = re.search(r"The reference report has (\d+) contradicted checks \((\d+) of them failing steps", findings)
    assert claim is not None and (int(claim.group(1)), int(claim.group(2))) == (contradicted, int(audit[4]))
    assert sum(counts.values()) == contradicted
    lead = f"{len(registry())} defects in the paper ({sum(d.severity == BREAKS for d in registry())} break a conclusion)"
    for page in (ROOT / "README.md", ROOT / "docs" / "findings.md"):
        assert lead in page.read_text(encoding="utf-8"), f"{page.name} does not say {lead!r}"


def test_readme_paper_plan_numbers() -> None:
    """README's "(the paper's constants: B = ..., D_in = ..., T = ...)" is `plan --theory paper`'s MAML plan."""
    import mamltheory as mt

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"paper's constants: B = ([\d,]+),\s+D_in = ([\d,]+), T = ([\d,]+)", text)
    assert m is not None, "README lost the paper's plan numbers"
    c = mt.ProblemConstants(L=1, rho=1, sigma=0.5, sigma_tilde=1, sigma_H=1)
    p = mt.plan("maml", c, eps=0.1, initial_gap=10, theory="paper")
    assert [int(g.replace(",", "")) for g in m.groups()] == [p.batch["B"], p.batch["D_in"], p.iterations]


def test_planning_theorem_constants_are_the_chains() -> None:
    """docs/planning.md's table of K and M, repaired (paper) and sharp at the paper's choices, is what the checked
    chains give."""
    from mamltheory.bounds.theorems import theorem

    text = (ROOT / "docs" / "planning.md").read_text(encoding="utf-8")
    rows = _table(text, "| theorem | accuracy constant K |")
    assert [r[0].split()[1].rstrip(",") for r in rows] == ["F.1", "G.1", "H.1"] * 2
    for row, algorithm in zip(rows[3:], ("maml", "fo-maml", "hf-maml")):
        sharp = theorem(algorithm, "sharp")
        k = [int(n) for n in re.findall(r"\d+", re.sub(r"\(\d+[′″]*\)", "", row[1]))]
        assert k == ([sharp.K] if sharp.K_T == sharp.K else [sharp.K, sharp.K_T]), row[0]
        assert [int(n) for n in re.findall(r"\d+", row[2])] == [sharp.M], row[0]
    for row, algorithm in zip(rows[:3], ("maml", "fo-maml", "hf-maml")):
        repaired, paper = theorem(algorithm, "repaired"), theorem(algorithm, "paper")
        k = [int(n) for n in re.findall(r"\d+", re.sub(r"\(\d+[′″]*\)", "", row[1]))]  # (131″) is an equation
        expected_k = [repaired.K, paper.K] if repaired.K_T == repaired.K else [repaired.K, repaired.K_T, paper.K]
        assert k == expected_k, f"{row[0]}: K shown {k}, the chains give {expected_k}"
        assert [int(n) for n in re.findall(r"\d+", row[2])] == [repaired.M, paper.M], row[0]


def test_limit_worst_case_prose_numbers() -> None:
    """docs/limit-worst-case.md's "a factor of A to B" (repaired, then paper) and "within X% of 4c" are
    limit_evidence's smallest and largest M/W to one decimal, and the largest W/(4c) − 1 rounded up."""
    pytest.importorskip("PEPit")
    from mamltheory.bounds.limit_worst_case import limit_evidence
    from mamltheory.bounds.theorems import all_theorems

    text = (ROOT / "docs" / "limit-worst-case.md").read_text(encoding="utf-8")
    m = re.search(r"a factor of (\d+\.\d) to (\d+\.\d) against it; the paper.s\s+constants (\d+\.\d) to (\d+\.\d)", text)
    p = re.search(r"W is\s+within ([\d.]+)% of 4c", text)
    assert m is not None and p is not None, "the page lost its prose numbers"
    rows = [limit_evidence(t) for t in all_theorems()]
    for theory, (low, high) in (("repaired", m.groups()[:2]), ("paper", m.groups()[2:])):
        slacks = [r["slack"] for r in rows if r["theory"] == theory]
        assert [float(low), float(high)] == [round(min(slacks), 1), round(max(slacks), 1)], theory
    worst = max(r["W"] / r["floor"] - 1 for r in rows)
    assert worst <= float(p.group(1)) / 100 < worst + 0.001
