"""Parameter draws: the curve and adstock parameters of each refit of a fit (bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import is_number
from budgetopt.optimizer.model.curves import FAMILIES, FAMILY_BY_CODE

__all__ = ["ParameterDraws"]

DRAW_KEYS = ("beta", "k", "s", "decay", "peak")


@dataclass(frozen=True)
class ParameterDraws:
    """Each draw's parameters per channel, arrays of shape ``(draws, channels)``.

    ``s`` is 1 where a family has no shape, ``decay`` and ``peak`` NaN where a channel has no
    (delayed) adstock; ``family`` holds each draw's curve family codes where a draw may differ
    from the model's (None: the model's). The model file keeps them under ``bootstrap.draws``
    as one list of channel objects per draw.
    """

    beta: np.ndarray
    k: np.ndarray
    s: np.ndarray
    decay: np.ndarray
    peak: np.ndarray
    family: np.ndarray | None = None

    def __len__(self) -> int:
        return self.beta.shape[0]

    def to_list(self) -> list[list[dict]]:
        draws = []
        for d in range(len(self)):
            channels = []
            for c in range(self.beta.shape[1]):
                entry = {"beta": float(self.beta[d, c]), "k": float(self.k[d, c]),
                         "s": float(self.s[d, c])}
                if self.family is not None:
                    entry["type"] = FAMILY_BY_CODE[self.family[d, c]].name
                if not np.isnan(self.decay[d, c]):
                    entry["decay"] = float(self.decay[d, c])
                if not np.isnan(self.peak[d, c]):
                    entry["peak"] = float(self.peak[d, c])
                channels.append(entry)
            draws.append(channels)
        return draws

    @classmethod
    def from_records(cls, draws: list[list[dict]]) -> ParameterDraws:
        """Draws from one list of ``{"beta", "k", "s", "decay", "peak"[, "type"]}`` per draw
        (``type`` in every entry, or in none: the model's families)."""
        arrays = {key: np.array([[float(p.get(key, np.nan)) for p in draw] for draw in draws])
                  for key in DRAW_KEYS}
        arrays["s"] = np.nan_to_num(arrays["s"], nan=1.0)
        if all("type" in p for draw in draws for p in draw):
            arrays["family"] = np.array([[FAMILIES[p["type"]].code for p in draw]
                                         for draw in draws], dtype=np.int8)
        return cls(**arrays)

    @classmethod
    def from_file(cls, data, n_channels: int, where: str) -> ParameterDraws | None:
        """Validate the model file's ``bootstrap`` object (None when it holds no draws)."""
        draws = data.get("draws") if isinstance(data, dict) else None
        if not draws:
            return None
        if not isinstance(draws, list):
            raise InputError(f"{where}: bootstrap.draws must be a list of draws.")
        for number, draw in enumerate(draws):
            if not isinstance(draw, list) or len(draw) != n_channels:
                raise InputError(f"{where}: bootstrap.draws[{number}] must list {n_channels} "
                                 f"channels.")
            for c, entry in enumerate(draw):
                bad = [key for key in DRAW_KEYS if isinstance(entry, dict) and key in entry
                       and not is_number(entry[key])]
                if not isinstance(entry, dict) or "beta" not in entry or bad:
                    raise InputError(f"{where}: bootstrap.draws[{number}][{c}] must give "
                                     f"numbers for beta, k[, s, decay, peak].")
                if "type" in entry and entry["type"] not in FAMILIES:
                    raise InputError(f"{where}: bootstrap.draws[{number}][{c}] has type "
                                     f"{entry['type']!r}; use one of {', '.join(FAMILIES)}.")
        typed = {"type" in entry for draw in draws for entry in draw}
        if len(typed) > 1:
            raise InputError(f"{where}: bootstrap.draws give a curve type for some channels "
                             f"and not for others; give it for every channel of every draw "
                             f"or for none.")
        return cls.from_records(draws)
