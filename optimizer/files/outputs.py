"""Output files written as one: all of a run's outputs appear when it succeeds, none when it fails.

Each output is written to a temporary file beside its target and put in place at the end.
A target that is a symlink is written through to the file it points to; a target that is not
a regular file (``/dev/null``, a pipe) is written into, never replaced; a new file gets the
permissions of any new file (the umask's) and an existing one keeps its own.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from budgetopt.optimizer.errors import InputError

__all__ = ["OutputSet", "output_set", "write_text"]


class OutputSet:
    """Temporaries for a run's outputs; :meth:`commit` puts them all in place."""

    def __init__(self):
        self._pending: list[tuple[Path, Path, str]] = []  # (temporary, target, as given)

    def path(self, target) -> Path:
        """A temporary path to write ``target``'s content to."""
        given = str(target)
        final = Path(os.path.realpath(target))
        if any(final == existing for _, existing, _ in self._pending):
            raise InputError(f"{given}: named as two outputs of one run; give each output "
                             f"its own file.")
        special = final.exists() and not stat.S_ISREG(final.stat().st_mode)
        folder = Path(tempfile.gettempdir()) if special else final.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp",
                                                 dir=folder)
        except OSError as error:
            raise InputError(f"{given}: cannot write here ({error.strerror}); choose another "
                             f"path.") from None
        os.close(handle)
        self._pending.append((Path(temporary), final, given))
        return Path(temporary)

    def target_of(self, temporary) -> str | None:
        """The output, as given, that a temporary stands for."""
        return next((given for temp, _, given in self._pending
                     if str(temp) == str(temporary)), None)

    def commit(self) -> None:
        for temporary, final, given in self._pending:
            try:
                _put(temporary, final)
            except OSError as error:
                raise InputError(f"{given}: cannot write ({error.strerror}).") from None
        self._pending = []

    def discard(self) -> None:
        for temporary, _, _ in self._pending:
            if temporary.exists():
                temporary.unlink()
        self._pending = []


@contextmanager
def output_set() -> Iterator[OutputSet]:
    """Outputs written inside the block appear together at its end, or not at all."""
    outputs = OutputSet()
    try:
        yield outputs
        outputs.commit()
    except OSError as error:  # a full disk or a vanished folder while writing
        target = outputs.target_of(error.filename) or error.filename or "an output file"
        raise InputError(f"{target}: cannot write ({error.strerror}); nothing was "
                         f"written.") from None
    finally:
        outputs.discard()


def write_text(path, text: str) -> None:
    """One text file, written as an output set of one."""
    with output_set() as outputs:
        outputs.path(path).write_text(text)


def _put(temporary: Path, final: Path) -> None:
    if final.exists() and not stat.S_ISREG(final.stat().st_mode):
        with open(temporary, "rb") as source, open(final, "wb") as sink:
            shutil.copyfileobj(source, sink)
        temporary.unlink()
        return
    if final.exists():
        mode = stat.S_IMODE(final.stat().st_mode)
    else:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    os.chmod(temporary, mode)
    os.replace(temporary, final)
