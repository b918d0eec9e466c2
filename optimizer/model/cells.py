"""The cells of a geo model: which geo and channel each model entry is.

A geo model has one entry per (geo, channel) cell. The entry's name (what solvers, rules and
messages see) is ``geo/channel``; exports split it back into a ``geo`` and a ``channel``
column, and the constraints file's ``[channels.X]``, ``[geos.G]`` and ``[cells.G.X]`` tables
are read through these cells (see :mod:`budgetopt.optimizer.problem.cell_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["GeoCells", "cell_label", "entry_columns"]


def cell_label(geo: str, channel: str) -> str:
    """The model entry name of a cell."""
    return f"{geo}/{channel}"


@dataclass(frozen=True)
class GeoCells:
    """Per model entry its ``geo`` and ``channel``; ``population`` per geo where known."""

    geo: tuple[str, ...]
    channel: tuple[str, ...]
    population: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.geo)

    @cached_property
    def labels(self) -> tuple[str, ...]:
        return tuple(cell_label(g, c) for g, c in zip(self.geo, self.channel))

    @cached_property
    def geos(self) -> tuple[str, ...]:
        """The geos in the order they first appear."""
        return tuple(dict.fromkeys(self.geo))

    @cached_property
    def channels(self) -> tuple[str, ...]:
        """The channels in the order they first appear."""
        return tuple(dict.fromkeys(self.channel))

    @cached_property
    def geo_index(self) -> np.ndarray:
        """Each entry's position in :attr:`geos`."""
        where = {g: i for i, g in enumerate(self.geos)}
        return np.fromiter((where[g] for g in self.geo), dtype=np.int64, count=len(self))

    @cached_property
    def channel_index(self) -> np.ndarray:
        """Each entry's position in :attr:`channels`."""
        where = {c: i for i, c in enumerate(self.channels)}
        return np.fromiter((where[c] for c in self.channel), dtype=np.int64, count=len(self))

    def of_geo(self, geo: str) -> np.ndarray:
        return np.flatnonzero(self.geo_index == self.geos.index(geo))

    def of_channel(self, channel: str) -> np.ndarray:
        return np.flatnonzero(self.channel_index == self.channels.index(channel))

    def by_channel(self, values) -> np.ndarray:
        """Per-entry values (first axis: entries) summed per channel, in :attr:`channels` order."""
        return _summed(self.channel_index, values, len(self.channels))

    def by_geo(self, values) -> np.ndarray:
        """Per-entry values (first axis: entries) summed per geo, in :attr:`geos` order."""
        return _summed(self.geo_index, values, len(self.geos))


def _summed(owner: np.ndarray, values, groups: int) -> np.ndarray:
    values = np.asarray(values, float)
    total = np.zeros((groups, *values.shape[1:]))
    np.add.at(total, owner, values)
    return total


def entry_columns(names, cells: GeoCells | None, owner=None) -> dict[str, np.ndarray]:
    """The identifying columns of rows about model entries (``owner``: each row's entry;
    default one row per entry): ``channel``, and ``geo`` first for a geo model."""
    owner = np.arange(len(names)) if owner is None else owner
    if cells is None:
        return {"channel": np.array(names, dtype=object)[owner]}
    return {"geo": np.array(cells.geo, dtype=object)[owner],
            "channel": np.array(cells.channel, dtype=object)[owner]}
