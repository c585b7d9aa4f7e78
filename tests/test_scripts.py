"""The public API from a plain script (`python file.py`, no `if __name__ == "__main__":` guard).

Process pools spawn their workers; a spawned worker that re-ran such a script would start a pool of its
own and Python would refuse (BrokenProcessPool). `mamltheory.pool` starts workers without the parent's
`__main__`, so the script runs once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_block() -> str:
    block = re.search(r"## From Python\n\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "the README lost its '## From Python' example"
    return block.group(1)


def _run_script(tmp_path: Path, code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_a_pool_started_by_an_unguarded_script_runs_the_script_once(tmp_path: Path) -> None:
    code = ("import math\n"
            "from mamltheory.pool import one_blas_thread, spawn_pool\n"
            "print('script body ran', flush=True)\n"
            "with one_blas_thread(), spawn_pool(2) as pool:\n"
            "    print(sum(pool.map(math.sqrt, [1.0, 4.0, 9.0, 16.0])))\n")
    done = _run_script(tmp_path, code, timeout=120)
    assert done.returncode == 0, done.stderr
    # once, by the parent: the two workers did not run the body (each would print it and fail to start a pool)
    assert done.stdout.splitlines() == ["script body ran", "10.0"]


def test_readme_python_block_runs_as_a_script(tmp_path: Path) -> None:
    # the full quick verification is the slow test below; the audit section alone exercises the same call
    code = _readme_block().replace("mt.verify(quick=True, seed=0)", 'mt.verify(quick=True, seed=0, sections=("audit",))')
    code += "\nprint(p.iterations, sorted(record['summary']))\n"
    done = _run_script(tmp_path, code, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2].startswith("822251 [")


@pytest.mark.slow
def test_readme_python_block_runs_verbatim_as_a_script(tmp_path: Path) -> None:
    # as a reader saves it: mt.verify(quick=True, seed=0) runs its sections on a process pool
    code = _readme_block() + "\nprint(record['summary']['checks'] > 300, record['summary']['error'])\n"
    done = _run_script(tmp_path, code, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True 0"
