"""What a fit learned and measured: quality, decomposition, per-channel facts and warnings.

The model file keeps it under ``fit`` (the contract asks for at least ``r2`` and ``mape``);
:meth:`FitReport.from_dict` reads that object once, at the file boundary, and keeps keys it
does not know so that they survive a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import is_number

__all__ = ["ChannelFit", "FitReport", "FitSeries", "GeoEffects", "LiftTestFit", "LAYOUT_WIDE",
           "LAYOUT_GEO", "LAYOUT_LONG"]

LAYOUT_WIDE, LAYOUT_GEO, LAYOUT_LONG = "wide", "geo", "long"


@dataclass(frozen=True)
class ChannelFit:
    """One channel's fit: its family and, as the fitter offers, its measured facts.

    Joint (wide, geo) fits give ``kpi_share``, ``roi``, ``marginal_roi`` and its draws'
    p10-p90 ``marginal_roi_range``, ``signal`` (effect sd over residual sd), ``decay`` and
    ``peak``; per-channel (long) fits give ``r2``, ``mape`` and ``holdout_rmse`` per family.
    """

    family: str
    kpi_share: float | None = None
    roi: float | None = None
    marginal_roi: float | None = None
    marginal_roi_range: tuple[float, float] | None = None
    signal: float | None = None
    decay: float | None = None
    peak: float | None = None
    r2: float | None = None
    mape: float | None = None
    holdout_rmse: dict[str, float] | None = None

    def to_dict(self) -> dict:
        data = {"family": self.family, "roi": self.roi, "marginal_roi": self.marginal_roi,
                "marginal_roi_p10_p90": (list(self.marginal_roi_range)
                                         if self.marginal_roi_range else None),
                "signal": self.signal, "decay": self.decay, "peak": self.peak, "r2": self.r2,
                "mape": self.mape, "holdout_rmse": self.holdout_rmse}
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class FitSeries:
    """The fit over time, one value per period: what a report plots without the history."""

    dates: tuple[str, ...]
    actual: np.ndarray
    fitted: np.ndarray
    baseline: np.ndarray
    contributions: dict[str, np.ndarray]

    def periods_reaching(self, media_kpi: float) -> int:
        """How many of the history's periods got at least ``media_kpi`` from media (as
        fitted)."""
        media = np.sum(list(self.contributions.values()), axis=0)
        return int((media >= media_kpi).sum())

    def to_dict(self) -> dict:
        return {"dates": list(self.dates), "actual": _floats(self.actual),
                "fitted": _floats(self.fitted), "baseline": _floats(self.baseline),
                "contributions": {name: _floats(v) for name, v in self.contributions.items()}}

    @classmethod
    def from_dict(cls, data, where: str) -> FitSeries | None:
        if data is None:
            return None
        try:
            dates = tuple(str(d) for d in data["dates"])
            series = cls(dates=dates, actual=_array(data["actual"], len(dates)),
                         fitted=_array(data["fitted"], len(dates)),
                         baseline=_array(data["baseline"], len(dates)),
                         contributions={str(name): _array(values, len(dates)) for name, values
                                        in data.get("contributions", {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(f"{where}: fit.series must give dates, actual, fitted, baseline "
                             f"and contributions of equal length ({error}).") from None
        return series


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _array(values, length: int) -> np.ndarray:
    array = np.asarray(values, float)
    if array.shape != (length,):
        raise ValueError(f"{array.size} values for {length} dates")
    return array


@dataclass(frozen=True)
class GeoEffects:
    """Each geo's effectiveness per channel relative to the national curve (1: national),
    partially pooled: ``effectiveness`` and its posterior ``sd`` are ``(geos, channels)``;
    ``spread`` is the sd of effectiveness across geos the data support (per channel), the
    pooling strength (0: every geo shrunk to the national curve). ``covariance`` (per geo,
    channels x channels; the fit's, not kept in the file) is what cell draws are drawn from."""

    geos: tuple[str, ...]
    channels: tuple[str, ...]
    effectiveness: np.ndarray
    sd: np.ndarray
    spread: np.ndarray
    covariance: np.ndarray | None = field(default=None, compare=False)

    def most_different(self, count: int) -> list[tuple[str, str, float, float]]:
        """The cells furthest from the national curve, in sds: (geo, channel, value, sd)."""
        score = np.abs(self.effectiveness - 1) / np.maximum(self.sd, 1e-12)
        order = np.argsort(-score, axis=None)[:count]
        return [(self.geos[g], self.channels[c], float(self.effectiveness[g, c]),
                 float(self.sd[g, c])) for g, c in zip(*np.unravel_index(order, score.shape))]

    def to_dict(self) -> dict:
        return {"spread": dict(zip(self.channels, _floats(self.spread))),
                "effectiveness": {g: dict(zip(self.channels, _floats(row)))
                                  for g, row in zip(self.geos, self.effectiveness)},
                "sd": {g: dict(zip(self.channels, _floats(row)))
                       for g, row in zip(self.geos, self.sd)}}

    @classmethod
    def from_dict(cls, data, where: str) -> GeoEffects | None:
        if data is None:
            return None
        try:
            channels = tuple(data["spread"])
            geos = tuple(data["effectiveness"])
            table = lambda key: np.array([[float(data[key][g][c]) for c in channels]
                                          for g in geos])
            return cls(geos=geos, channels=channels, effectiveness=table("effectiveness"),
                       sd=table("sd"), spread=np.array([float(data["spread"][c])
                                                        for c in channels]))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{where}: fit.geo_effects must give spread, effectiveness and "
                             f"sd per geo and channel ({error}).") from None


@dataclass(frozen=True)
class LiftTestFit:
    """A lift test beside what the fitted curve predicts for it (KPI change per period)."""

    label: str
    channel: str
    measured: float
    predicted: float
    standard_error: float

    @property
    def misses_by(self) -> float:
        """How many standard errors the fit misses the measurement by."""
        return abs(self.predicted - self.measured) / self.standard_error

    def to_dict(self) -> dict:
        return {"label": self.label, "channel": self.channel, "measured": self.measured,
                "predicted": self.predicted, "standard_error": self.standard_error}


@dataclass(frozen=True)
class FitReport:
    """The fit's quality and facts. ``layout`` is wide, geo or long (per-channel)."""

    layout: str
    method: str
    r2: float
    mape: float
    periods: int
    channels: dict[str, ChannelFit]
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    nrmse: float | None = None
    holdout_nrmse: float | None = None
    fourier_order: int | None = None
    baseline_share: float | None = None
    controls: tuple[str, ...] = ()
    geos: int | None = None
    r2_geo: float | None = None
    description: str | None = None
    series: FitSeries | None = None
    lift_tests: tuple[LiftTestFit, ...] = ()
    geo_effects: GeoEffects | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_joint(self) -> bool:
        """A joint fit of one KPI (wide or geo), with a baseline and a decomposition."""
        return self.layout != LAYOUT_LONG

    def to_dict(self) -> dict:
        data = {"method": self.method} if self.method else {}
        if self.fourier_order is not None:
            data["fourier_order"] = self.fourier_order
        data.update({"r2": self.r2, "mape": self.mape})
        for key in ("nrmse", "holdout_nrmse"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.periods:
            data["periods"] = self.periods
        if self.geos is not None:
            data.update({"geos": self.geos, "r2_geo": self.r2_geo, "model": self.description})
        if self.baseline_share is not None:
            data["decomposition"] = {"baseline": self.baseline_share, **{
                name: channel.kpi_share for name, channel in self.channels.items()}}
        if self.channels:
            data["channels"] = {name: c.to_dict() for name, c in self.channels.items()}
        if self.baseline_share is not None:
            data["controls"] = list(self.controls)
        if self.warnings or self.seconds:
            data.update({"warnings": list(self.warnings), "seconds": self.seconds})
        if self.series is not None:
            data["series"] = self.series.to_dict()
        if self.lift_tests:
            data["lift_tests"] = [test.to_dict() for test in self.lift_tests]
        if self.geo_effects is not None:
            data["geo_effects"] = self.geo_effects.to_dict()
        return {**self.extra, **data}

    @classmethod
    def from_dict(cls, data, where: str) -> FitReport:
        """The model file's ``fit`` object (its layout follows from its keys)."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: 'fit' must be an object with at least r2 and mape.")
        problems = [f"fit.{key} must be a number" for key in ("r2", "mape")
                    if key in data and not _number_or_nan(data[key])]
        channels_data = data.get("channels", {})
        if not isinstance(channels_data, dict):
            problems.append("fit.channels must be an object of channels")
            channels_data = {}
        if problems:
            raise InputError.collected(f"{where}: invalid fit section:", problems)
        share = data.get("decomposition") if isinstance(data.get("decomposition"), dict) else {}
        layout = LAYOUT_GEO if "geos" in data else LAYOUT_WIDE if share else LAYOUT_LONG
        seconds = data.get("seconds", {})
        known = {"method", "fourier_order", "r2", "mape", "nrmse", "holdout_nrmse",
                 "periods", "geos", "r2_geo", "model", "decomposition", "channels", "controls",
                 "warnings", "seconds", "series", "lift_tests", "geo_effects"}
        return cls(
            layout=layout, method=str(data.get("method", "")),
            r2=_float(data.get("r2")), mape=_float(data.get("mape")),
            periods=int(data.get("periods", 0) or 0),
            channels={str(name): _channel(info, share.get(name))
                      for name, info in channels_data.items()},
            warnings=tuple(str(w) for w in data.get("warnings", []) or []),
            seconds=seconds if isinstance(seconds, dict) else {"total": _float(seconds)},
            nrmse=_optional(data.get("nrmse")), holdout_nrmse=_optional(data.get("holdout_nrmse")),
            fourier_order=data.get("fourier_order"),
            baseline_share=_optional(share.get("baseline")),
            controls=tuple(data.get("controls", []) or []), geos=data.get("geos"),
            r2_geo=_optional(data.get("r2_geo")), description=data.get("model"),
            series=FitSeries.from_dict(data.get("series"), where),
            lift_tests=tuple(LiftTestFit(**{k: test[k] for k in (
                "label", "channel", "measured", "predicted", "standard_error")})
                for test in data.get("lift_tests", []) if isinstance(test, dict)
                and all(k in test for k in ("label", "channel", "measured", "predicted",
                                            "standard_error"))),
            geo_effects=GeoEffects.from_dict(data.get("geo_effects"), where),
            extra={key: value for key, value in data.items() if key not in known})


def _channel(info, share) -> ChannelFit:
    info = info if isinstance(info, dict) else {}
    spread = info.get("marginal_roi_p10_p90")
    return ChannelFit(
        family=str(info.get("family", "-")), kpi_share=_optional(share),
        roi=_optional(info.get("roi")), marginal_roi=_optional(info.get("marginal_roi")),
        marginal_roi_range=(float(spread[0]), float(spread[1]))
        if isinstance(spread, list) and len(spread) == 2 else None,
        signal=_optional(info.get("signal")), decay=_optional(info.get("decay")),
        peak=_optional(info.get("peak")), r2=_optional(info.get("r2")),
        mape=_optional(info.get("mape")),
        holdout_rmse=info.get("holdout_rmse") if isinstance(info.get("holdout_rmse"), dict)
        else None)


def _number_or_nan(value) -> bool:
    return is_number(value) or value is None


def _float(value) -> float:
    return float(value) if is_number(value) else float("nan")


def _optional(value) -> float | None:
    return float(value) if is_number(value) else None
