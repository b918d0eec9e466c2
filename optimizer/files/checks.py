"""Small checks shared by the file readers."""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from pathlib import Path

from budgetopt.optimizer.errors import InputError

__all__ = ["is_number", "did_you_mean", "read_toml", "read_json", "table_line"]


def is_number(value) -> bool:
    """True for a finite int or float (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def did_you_mean(word: str, choices, fallback: str = "") -> str:
    """A hint naming the closest of ``choices``, or ``fallback`` when none is close."""
    hint = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"did you mean '{hint[0]}'?" if hint else fallback


def read_toml(path, kind: str) -> dict:
    """The TOML file's tables; a missing file or bad TOML is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {kind} file.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file; expected TOML.") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a {kind} file.") from None


def read_json(path, kind: str):
    """A JSON file's value (a UTF-8 byte-order mark is allowed); a repeated key is an error."""
    path = Path(path)

    def unique_keys(pairs):
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise InputError(f"{path}: the key {repeated[0]!r} appears twice in one object; "
                             f"keep one.")
        return dict(pairs)

    try:
        return json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: line {error.lineno}, column {error.colno}: not valid JSON "
                         f"({error.msg}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file; expected a {kind} (JSON).") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a {kind} file.") from None


HEADER_LINES = 1  # a CSV's header row: data row 0 is on line 2 of the file


def table_line(row: int) -> int:
    """The file line (1-based) of a CSV's data row ``row`` (0-based)."""
    return row + HEADER_LINES + 1
