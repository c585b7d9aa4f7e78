"""The one validation vocabulary of numbers, choices and files for the CLI, the TOML/JSON readers and the library.

Each validator takes the name to report (a flag, a TOML key or a parameter) and raises one InputError
"NAME: RULE" (exit 2 in the CLI), `field` set to the parameter.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
from fractions import Fraction
from pathlib import Path

from mamltheory.errors import InputError


# Seeds are 32-bit: every seeded routine accepts them, and a seed is part of stored keys and records.
SEED_MAX = 2**32 - 1
# The upper end of every integer flag without a tighter one: sizes beyond float64's exact integers are never
# meaningful, and a larger integer overflows the float arithmetic of the memory estimates and the planner.
INT_MAX = 2**53


def shown(value: object, limit: int = 40) -> str:
    """repr of a value for a one-line message, a long one cut to its start and its length."""
    text = repr(value) if not isinstance(value, int) else str(value)
    unit = "digits" if isinstance(value, int) else "characters"
    return text if len(text) <= limit else f"{text[:limit // 2]}… ({len(text)} {unit})"


def refusal(name: str, rule: str, field: str | None = None) -> InputError:
    """The one-line error "NAME: RULE" of the parameter `name` (a flag, a TOML key or an argument)."""
    return InputError(f"{name}: {rule}", field=name.lstrip("-") if field is None else field)


def _is_number(value: object) -> bool:
    """A real number of Python's (int, float, Fraction), a bool not counted."""
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def integer(name: str, value: object, low: int, high: int = INT_MAX, *, field: str | None = None,
            context: str = "", text: bool = True) -> int:
    """An integer in [low, high] (every integer has a finite range); with `text`, decimal text is parsed."""
    rule = f"an integer >= {low}" if high == INT_MAX else f"an integer in [{low}, {high}]"
    if text and isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:  # includes Python's limit on the digits of an int (4300)
            raise refusal(name, f"must be {rule}{context}, got {shown(value)}", field) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise refusal(name, f"must be {rule}{context}, got {shown(value)}", field)
    if value < low:
        raise refusal(name, f"must be {rule}{context}, got {value}", field)
    if value > high:
        raise refusal(name, f"must be an integer in [{low}, {high}]{context}, got {shown(value)}", field)
    return value


def whole(value: object) -> object:
    """An integral float (10.0, as TOML or JSON may write a size) as the int it is; anything else unchanged."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


def seed(name: str, value: object, field: str | None = None, text: bool = True) -> int:
    """A seed: an integer in [0, 2^32 − 1]."""
    return integer(name, value, 0, SEED_MAX, field=field, text=text)


def integers(name: str, value: object, names: tuple[str, ...], high: int = INT_MAX, *,
             field: str | None = None, text: bool = True) -> dict[str, int]:
    """len(names) integers in [1, high] by name: a sequence, or with `text` comma-separated text."""
    split = text and isinstance(value, str)
    parts = value.split(",") if split else value  # type: ignore[union-attr]
    if isinstance(parts, (str, bytes)) or not hasattr(parts, "__len__") or len(parts) != len(names):
        kind = "comma-separated integers" if split else "integers"
        raise refusal(name, f"must be {len(names)} {kind} {','.join(names)}, got {value!r}", field)
    return {n: integer(f"{name} {n}", v, 1, high, field=field or name.lstrip("-"), text=text)
            for n, v in zip(names, parts)}


def number(name: str, value: object, sign: str = "", *, field: str | None = None, context: str = "",
           text: bool = True) -> float:
    """A finite real number ("> 0" or ">= 0" with `sign`); with `text`, decimal text is parsed."""
    if text and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise refusal(name, f"must be a number{context}, got {shown(value)}", field) from None
    if not _is_number(value):
        raise refusal(name, f"must be a number{context}, got {shown(value)}", field)
    try:
        x = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond float64's range
        raise refusal(name, f"must be finite, got {shown(value)}", field) from None
    if not math.isfinite(x):
        raise refusal(name, f"must be finite, got {value}", field)
    if (sign == "> 0" and not x > 0) or (sign == ">= 0" and not x >= 0):
        raise refusal(name, f"must be {sign}{context}, got {value}", field)
    return x


def positive(name: str, value: object, field: str | None = None, text: bool = True) -> float:
    """A finite number > 0 (with `text`, decimal text is parsed): one rule for every way to break it."""
    try:
        return number(name, value, "> 0", field=field, text=text)
    except InputError:
        got = value if text and isinstance(value, str) and _parses(value) else shown(value)
        raise refusal(name, f"must be a positive finite number, got {got}", field) from None


def _parses(text: str) -> bool:
    """Whether `text` reads as a float (then a message shows it as given, unquoted)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def choice(name: str, value: object, allowed: tuple[str, ...], field: str | None = None) -> str:
    """One of `allowed`."""
    if value not in allowed:
        raise refusal(name, f"must be one of {', '.join(allowed)}, got {value!r}", field)
    return value  # type: ignore[return-value]


# The value of a step or δ option that means "the theorem's rule"; "theory" was its name before: refused
# with the new name, since `theory` means paper | repaired and nothing else.
THEOREM_RULE = "theorem"


def theorem_or_positive(name: str, value: object, field: str | None = None, text: bool = True) -> str | float:
    """"theorem" (the theorem's rule) or a positive finite number (outside the theorem)."""
    if value == THEOREM_RULE:
        return THEOREM_RULE
    if value == "theory":
        raise refusal(name, f"'theory' is now spelled '{THEOREM_RULE}' (the theorem's rule); give '{THEOREM_RULE}' "
                            "or a positive number", field)
    if isinstance(value, str) and not (text and _parses(value)):
        raise refusal(name, f"must be '{THEOREM_RULE}' or a positive finite number, got {value!r}", field)
    return positive(name, value, field, text)


_HELD_OUTPUTS: dict[str, int] = {}  # FIFO outputs checked by writable_file: path -> the probe's descriptor


def writable_file(flag: str, path: str) -> Path:
    """An output file that can be written, checked before any work (a folder, a missing folder, no permission)."""
    if not path:  # Path("") is the current folder
        raise InputError(f"{flag}: the file name is empty", field=flag.lstrip("-"))
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag}: {path!r} is a folder; give a file name", field=flag.lstrip("-"))
    if not p.parent.is_dir():
        raise InputError(f"{flag}: directory {str(p.parent)!r} does not exist", field=flag.lstrip("-"))
    existed = p.exists()
    if existed and stat.S_ISFIFO(p.stat().st_mode):
        # Opening a FIFO for writing blocks until a process reads it: probe without blocking, and hold the
        # probe open until write_output writes (closing it would end the reader's input early).
        try:
            _HELD_OUTPUTS[str(p)] = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            raise InputError(f"{flag}: {path!r} is a FIFO that no process reads", field=flag.lstrip("-")) from None
        return p
    try:
        with open(p, "a", encoding="utf-8"):
            pass
    except OSError as err:
        raise InputError(f"{flag}: cannot write {path!r}: {err.strerror}", field=flag.lstrip("-")) from None
    if not existed:
        p.unlink()  # only probed; written when the result is ready
    return p


def write_output(flag: str, path: str | Path, text: str) -> None:
    """Write `text` to the output file `path`; a failure (disk full, ...) is an InputError naming `flag`."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"{flag}: cannot write {str(path)!r}: {err.strerror or err}", field=flag.lstrip("-")) from None
    finally:
        held = _HELD_OUTPUTS.pop(str(Path(path)), None)
        if held is not None:
            os.close(held)


def writable_dir(flag: str, path: str) -> Path:
    """An output folder, created if missing, in which a file can be written; checked before any work."""
    if not path:  # Path("") is the current folder: the report would land in it
        raise InputError(f"{flag}: the folder name is empty", field=flag.lstrip("-"))
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except FileExistsError:
        raise InputError(f"{flag}: {path!r} exists and is not a folder", field=flag.lstrip("-")) from None
    except OSError as err:
        raise InputError(f"{flag}: cannot write in folder {path!r}: {err.strerror}", field=flag.lstrip("-")) from None
    return p


# Input files. Every file the CLI reads goes through `input_file`: it must be a regular file (a FIFO would
# block the read forever, /dev/zero and /dev/urandom never end) of at most `max_bytes`.
MIB = 2**20
TEXT_MAX_BYTES = 4 * MIB  # a constants TOML, an estimate JSON or a sweep config is a few KiB
# Depth of nested arrays and tables in those files: they need fewer than 10; parsers recurse per level.
MAX_NESTING = 64

_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _size_text(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n} bytes"


def regular_file(flag: str, path: str, what: str | None = None) -> Path:
    """`path` if it is an existing regular file (symbolic links followed), else InputError naming `flag`."""
    what = what or repr(path)
    field = flag.lstrip("-")
    if not path:
        raise InputError(f"{flag}: the file name is empty", field=field)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise InputError(f"{flag}: cannot read {what}: {(err.strerror or str(err)).lower()}", field=field) from None
    _refuse_special(flag, what, mode)
    return Path(path)


def file_kind(mode: int) -> str | None:
    """None for a regular file, else what it is ("a FIFO", "a folder", ...), for messages."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def _refuse_special(flag: str, what: str, mode: int) -> None:
    kind = file_kind(mode)
    if kind is not None:
        raise InputError(f"{flag}: cannot read {what}: it is {kind}; it must be a regular file",
                         field=flag.lstrip("-"))


def input_file(flag: str, path: str, max_bytes: int = TEXT_MAX_BYTES, what: str | None = None) -> str:
    """The UTF-8 text of the regular file `path`, at most `max_bytes` long; InputError naming `flag` otherwise.

    `what` names the file in messages (default: the path). The file is opened non-blocking and checked on
    the open descriptor, so a FIFO swapped in after a check cannot block the read either.
    """
    regular_file(flag, path, what)
    what = what or repr(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise InputError(f"{flag}: cannot read {what}: {(err.strerror or str(err)).lower()}",
                         field=flag.lstrip("-")) from None
    try:
        _refuse_special(flag, what, os.fstat(fd).st_mode)
        chunks, size = [], 0
        while size <= max_bytes:  # read one byte past the cap: a file growing while read is caught too
            chunk = os.read(fd, min(MIB, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise InputError(f"{flag}: cannot read {what}: {(err.strerror or str(err)).lower()}",
                         field=flag.lstrip("-")) from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise InputError(f"{flag}: cannot read {what}: it is larger than {_size_text(max_bytes)}, the limit for "
                         "this file", field=flag.lstrip("-"))
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{flag}: {what} is not UTF-8 text", field=flag.lstrip("-")) from None


# Strings and comments of TOML (and so of JSON, whose strings are TOML basic strings), then the brackets.
_NESTING_TOKENS = re.compile(r'"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
                             re.S)


def nesting_depth(text: str, stop: int = MAX_NESTING) -> int:
    """Deepest nesting of [ ] and { } in TOML or JSON text, outside strings and comments (stops above `stop`)."""
    depth = deepest = 0
    for m in _NESTING_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop:
                break
        elif c in "]}":
            depth = max(depth - 1, 0)
    return deepest


def check_nesting(flag: str, text: str, what: str, limit: int = MAX_NESTING) -> None:
    """InputError naming `flag` when `text` nests arrays or tables deeper than `limit` (parsers recurse per level)."""
    if nesting_depth(text, limit) > limit:
        raise InputError(f"{flag}: {what} nests arrays or tables more than {limit} deep; at most {limit} are "
                         "allowed", field=flag.lstrip("-"))
