"""Where each channel's nonlinear parameters sit in a joint fit's flat parameter vector.

Per channel, in order: the adstock decay, log(k / typical adstocked level), the peak (delayed
adstock only) and log(s) (families with a shape). One :class:`ParameterLayout` answers every
question about that vector, so no method of the fitter re-derives it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from budgetopt.optimizer.fit.priors import MAX_DECAY, PRIOR_WEIGHT, has_shape, shape_bounds

__all__ = ["ParameterLayout", "DELAYED_DECAY", "MAX_PEAK", "K_RANGE"]

DELAYED_DECAY = (0.05, 0.95)  # bounds of a delayed adstock's decay
MAX_PEAK = 6.0  # latest peak of a delayed adstock, in periods
K_RANGE = (0.3, 10.0)  # half-saturation relative to the typical adstocked level
START_DECAYS = (0.3, 0.6, 0.1, 0.45)  # the first starts' decays, relative ks, peaks and shapes
START_K = (1.0, 2.0, 0.5, 1.5)
START_PEAK = (1.0, 2.0, 0.0, 3.0)
START_S = (1.0, 1.8, 1.0, 1.4)


@dataclass(frozen=True)
class ParameterLayout:
    """The flat parameter vector of ``families`` (one per channel) with geometric or delayed
    adstock."""

    families: tuple[str, ...]
    delayed: bool = False

    def with_family(self, channel: int, family: str) -> ParameterLayout:
        families = list(self.families)
        families[channel] = family
        return replace(self, families=tuple(families))

    def channel_slice(self, theta, c: int) -> np.ndarray:
        """Channel ``c``'s entries of ``theta``."""
        start = self.offsets[c]
        return np.array(theta[start:start + self.width(c)], float)

    def width(self, channel: int) -> int:
        return 2 + self.delayed + has_shape(self.families[channel])

    @cached_property
    def offsets(self) -> np.ndarray:
        """Index of each channel's decay in the vector."""
        return np.cumsum([0] + [self.width(c) for c in range(len(self.families))])[:-1]

    @property
    def size(self) -> int:
        return int(self.offsets[-1] + self.width(len(self.families) - 1))

    def channel(self, theta, c: int) -> tuple[float, float, float, float]:
        """(decay, log relative k, peak or NaN, log s or 0) of channel ``c``."""
        i = self.offsets[c]
        peak = theta[i + 2] if self.delayed else np.nan
        log_s = theta[i + self.width(c) - 1] if has_shape(self.families[c]) else 0.0
        return theta[i], theta[i + 1], peak, log_s

    @cached_property
    def _shaped(self) -> np.ndarray:
        return np.array([has_shape(f) for f in self.families])

    def columns(self, theta) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`channel` for every channel at once: arrays of decay, log relative k, peak
        (NaN: geometric) and log s (0 without a shape)."""
        theta = np.asarray(theta, float)
        offsets = self.offsets
        peak = theta[offsets + 2] if self.delayed else np.full(len(offsets), np.nan)
        log_s = np.where(self._shaped, theta[self._ends], 0.0)
        return theta[offsets], theta[offsets + 1], peak, log_s

    @cached_property
    def _ends(self) -> np.ndarray:
        """Index of each channel's last entry (its log s when it has a shape)."""
        return self.offsets + np.array([self.width(c) for c in range(len(self.families))]) - 1

    @cached_property
    def _prior_slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where :meth:`prior` puts each channel's k, decay and (shaped families) s term."""
        k_slot, decay_slot, s_slot, at = [], [], [], 0
        for shaped in self._shaped:
            k_slot.append(at)
            decay_slot.append(at + 1)
            if shaped:
                s_slot.append(at + 2)
            at += 2 + bool(shaped)
        return np.array(k_slot), np.array(decay_slot), np.array(s_slot, dtype=int)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = [], []
        for family in self.families:
            if self.delayed:
                lower += [DELAYED_DECAY[0], np.log(K_RANGE[0]), 0.0]
                upper += [DELAYED_DECAY[1], np.log(K_RANGE[1]), MAX_PEAK]
            else:
                lower += [0.0, np.log(K_RANGE[0])]
                upper += [MAX_DECAY, np.log(K_RANGE[1])]
            if has_shape(family):
                low, high = shape_bounds(family)
                lower.append(low)
                upper.append(high)
        return np.array(lower), np.array(upper)

    def starts(self, count: int, seed: int) -> list[np.ndarray]:
        """``count`` starting vectors: four typical shapes, then random decays."""
        rng = np.random.default_rng(seed)
        starts = []
        for start in range(count):
            j = start % len(START_DECAYS)
            theta = []
            for family in self.families:
                decay = START_DECAYS[j] if start < len(START_DECAYS) else rng.uniform(0, 0.8)
                theta += [decay, np.log(START_K[j])]
                if self.delayed:
                    theta.append(START_PEAK[j])
                if has_shape(family):
                    theta.append(np.log(START_S[j]))
            starts.append(np.array(theta))
        return starts

    def adapt(self, theta, old: ParameterLayout) -> np.ndarray:
        """A start for this layout from ``theta`` fitted with ``old`` (same adstock)."""
        out = []
        for c, family in enumerate(self.families):
            decay, log_k, peak, log_s = old.channel(theta, c)
            out += [decay, log_k] + ([peak] if self.delayed else [])
            if has_shape(family):
                out.append(log_s if has_shape(old.families[c]) else 0.0)
        return np.array(out)

    def prior(self, theta, decay_weight: float) -> np.ndarray:
        """Prior residuals: log relative k and log s towards 0, decays towards their mean."""
        decays, log_k, _, log_s = self.columns(theta)
        k_slot, decay_slot, s_slot = self._prior_slots
        out = np.empty(len(k_slot) + len(decay_slot) + len(s_slot))
        out[k_slot] = PRIOR_WEIGHT * log_k
        out[decay_slot] = decay_weight * (decays - decays.mean())
        out[s_slot] = PRIOR_WEIGHT * log_s[self._shaped]
        return out
