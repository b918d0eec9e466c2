"""Progress bars on stderr for the long runs (fits, bootstrap draws, scenario cases)."""

from __future__ import annotations

import click

__all__ = ["ProgressBars"]


class ProgressBars:
    """One click progress bar per stage of a long run, on stderr: ``bars(stage, done, total)``."""

    LABELS = {"curves": "fitting curves (multi-start, family per channel)",
              "bootstrap": "bootstrap draws", "cases": "scenario cases"}

    def __enter__(self):
        self.bar, self.stage, self.done = None, None, 0
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self._close()
            self.bar = click.progressbar(length=total, label=self.LABELS.get(stage, stage),
                                         file=click.get_text_stream("stderr"))
            self.bar.__enter__()
            self.stage, self.done = stage, 0
        self.bar.update(done - self.done)
        self.done = done

    def _close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc):
        self._close()
        return False
