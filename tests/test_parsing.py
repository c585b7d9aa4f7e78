"""parsing: input files (regular, bounded, UTF-8), nesting depth, integer ranges; one InputError naming the flag."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mamltheory.errors import InputError
from mamltheory.parsing import (INT_MAX, check_nesting, choice, input_file, integer, integers, nesting_depth, number,
                                shown, theorem_or_positive)


def test_input_file_reads_a_regular_file_up_to_the_cap(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("L = 1 # é\n", encoding="utf-8")
    assert input_file("--constants", str(f)) == "L = 1 # é\n"
    assert input_file("--constants", str(f), max_bytes=len("L = 1 # é\n".encode())) == "L = 1 # é\n"  # 11 bytes
    with pytest.raises(InputError, match=r"^--constants: cannot read '.*c\.toml': it is larger than 10 bytes"):
        input_file("--constants", str(f), max_bytes=10)


@pytest.mark.parametrize("kind, rule", [("fifo", "it is a FIFO"), ("folder", "it is a folder"),
                                        ("zero", "it is a character device"), ("missing", "no such file")])
def test_input_file_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str, rule: str) -> None:
    path = {"fifo": tmp_path / "p", "folder": tmp_path, "zero": Path("/dev/zero"), "missing": tmp_path / "no"}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it for reading would block forever
    with pytest.raises(InputError) as err:
        input_file("--from-estimate", str(path))
    assert str(err.value).startswith(f"--from-estimate: cannot read {str(path)!r}: {rule}") and err.value.field == "from-estimate"


def test_input_file_names_the_file_as_asked_and_refuses_bad_utf8(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match=r"^s\.toml: the sweep config is not UTF-8 text$"):
        input_file("s.toml", str(f), what="the sweep config")
    with pytest.raises(InputError, match=r"^--constants: the file name is empty$"):
        input_file("--constants", "")


@pytest.mark.parametrize("text, depth", [
    ("a = [[1, 2], [3]]", 2), ('a = "[[[["', 0), ("a = '[[[['", 0), ('a = """\n[[[\\"""[[\n"""', 0),
    ("# [[[[\nb = [1]", 1), ("[[runs]]\nx = {a = {b = 1}}", 2), ('{"a": ["]]]", {"b": []}]}', 4),
    ("[" * 10 + "]" * 10, 10)])
def test_nesting_depth_counts_brackets_outside_strings_and_comments(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_check_nesting_refuses_above_the_limit() -> None:
    check_nesting("--constants", "a = " + "[" * 64 + "]" * 64, "'c.toml'")
    with pytest.raises(InputError, match=r"^--constants: 'c\.toml' nests arrays or tables more than 64 deep"):
        check_nesting("--constants", "a = " + "[" * 65 + "]" * 65, "'c.toml'")
    assert nesting_depth("[" * 1_000_000) == 65  # stops at the first level above the limit


@pytest.mark.parametrize("text, message", [
    ("1" * 401, "--replicates: must be an integer in [1, 9007199254740992], got 11111111111111111111… (401 digits)"),
    ("1" * 5000, "--replicates: must be an integer >= 1, got '1111111111111111111… (5002 characters)"),
    (str(INT_MAX + 1), "--replicates: must be an integer in [1, 9007199254740992], got 9007199254740993"),
    ("0", "--replicates: must be an integer >= 1, got 0")])
def test_every_integer_flag_has_a_finite_range(text: str, message: str) -> None:
    assert integer("--replicates", str(INT_MAX), 1) == INT_MAX
    with pytest.raises(InputError) as err:
        integer("--replicates", text, 1)
    assert str(err.value) == message


def test_shown_cuts_long_values() -> None:
    assert shown(12) == "12" and shown("ab") == "'ab'"
    assert shown(10**50) == "10000000000000000000… (51 digits)"


def test_an_output_fifo_needs_a_reader_and_gets_the_whole_text(tmp_path: Path) -> None:
    import threading

    from mamltheory.parsing import writable_file, write_output

    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"^--out: '.*out' is a FIFO that no process reads$"):
        writable_file("--out", str(fifo))
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    # the reader's open blocks until a writer opens: probe until it is there (the check must not end its input)
    while True:
        try:
            writable_file("--out", str(fifo))
            break
        except InputError:
            time.sleep(0.01)
    write_output("--out", str(fifo), '{"a": 1}\n')
    reader.join(timeout=30)
    assert got == ['{"a": 1}\n']


@pytest.mark.parametrize("value, text, message", [
    ("theory", True, "--step: 'theory' is now spelled 'theorem' (the theorem's rule); give 'theorem' or a positive "
                     "number"),
    ("0.5", False, "--step: must be 'theorem' or a positive finite number, got '0.5'"),
    (0, False, "--step: must be a positive finite number, got 0"),
    (True, False, "--step: must be a positive finite number, got True")])
def test_theorem_or_positive_names_the_new_spelling(value: object, text: bool, message: str) -> None:
    assert theorem_or_positive("--step", "theorem") == "theorem"
    assert theorem_or_positive("--step", "0.5") == 0.5 and theorem_or_positive("--step", 2, text=False) == 2.0
    with pytest.raises(InputError) as err:
        theorem_or_positive("--step", value, text=text)
    assert str(err.value) == message and err.value.field == "step"


@pytest.mark.parametrize("call, message", [
    (lambda: number("L", 0, "> 0", context=" (Assumptions 4.3-4.4)"), "L: must be > 0 (Assumptions 4.3-4.4), got 0"),
    (lambda: number("x", "1", text=False), "x: must be a number, got '1'"),
    (lambda: number("x", 10**400), "x: must be finite, got 10000000000000000000… (401 digits)"),
    (lambda: integer("d", 2.0, 1, text=False), "d: must be an integer >= 1, got 2.0"),
    (lambda: integers("--batch", "2,0", ("B", "D")), "--batch D: must be an integer >= 1, got 0"),
    (lambda: integers("--batch", [2], ("B", "D"), text=False), "--batch: must be 2 integers B,D, got [2]"),
    (lambda: choice("--record", "all", ("auto", "every")), "--record: must be one of auto, every, got 'all'")])
def test_each_validator_is_one_line_naming_the_parameter_and_the_rule(call, message: str) -> None:
    with pytest.raises(InputError) as err:
        call()
    assert str(err.value) == message
