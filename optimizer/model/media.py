"""The media model: channels with response curves and adstock, read from and written to files.

A model is array-based (one entry per channel in each array) so that a curves file with a
million channels loads and solves without a Python object per channel. Readers accept the
``budgetopt-model/1`` JSON file and the "bring your own curves" CSV.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from budgetopt.optimizer.model.adstock import DELAYED_LENGTH, adstock_kernel, carry_profile, steady_state_scale
from budgetopt.optimizer.constants import KPI_REVENUE, KPI_TYPES, MODEL_FORMAT
from budgetopt.optimizer.model.curves import FAMILIES, CurveSet
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import did_you_mean, is_number
from budgetopt.optimizer.files.atomic import atomic_write_text

__all__ = ["MediaModel", "read_model", "write_model"]

CURVES_CSV_REQUIRED = ("channel", "type", "beta", "k")
CURVES_CSV_OPTIONAL = ("s", "decay", "normalized", "current_spend")
ADSTOCK_TYPES = ("geometric", "delayed")


@dataclass(frozen=True)
class MediaModel:
    """Response curves of a set of channels plus what is known about the KPI.

    Arrays have shape ``(n_channels,)``. ``decay`` is NaN for a channel without adstock and
    ``current_spend`` is NaN where the model does not say (both per period). ``peak`` is NaN
    for geometric adstock and the delay of a delayed one; a delayed channel's ``recent_spend``
    row holds its last DELAYED_LENGTH - 1 spends (what it still carries into the plan).
    """

    names: tuple[str, ...]
    curves: CurveSet
    decay: np.ndarray
    normalized: np.ndarray
    current_spend: np.ndarray
    carry_in: np.ndarray
    kpi_name: str = "kpi"
    kpi_type: str = KPI_REVENUE
    period: str = "week"
    baseline: float = 0.0
    fit: dict | None = None
    extra: dict = field(default_factory=dict)
    peak: np.ndarray | None = None
    recent_spend: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.names)
        if self.peak is None:
            object.__setattr__(self, "peak", np.full(n, np.nan))
        if self.recent_spend is None:
            object.__setattr__(self, "recent_spend", np.zeros((n, DELAYED_LENGTH - 1)))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def delayed(self) -> np.ndarray:
        return ~np.isnan(self.peak)

    def adstock_kernel(self, horizon: int) -> np.ndarray:
        """(channels, horizon): weight in a level of the spend l periods back."""
        return adstock_kernel(self.decay, self.normalized, self.peak, horizon)

    def carry(self, horizon: int) -> np.ndarray:
        """(channels, horizon): what the history's spend adds to each planned period's level."""
        return carry_profile(self.decay, self.normalized, self.peak, self.carry_in,
                             self.recent_spend, horizon)

    @property
    def has_adstock(self) -> np.ndarray:
        return ~np.isnan(self.decay)

    def steady_state_curves(self, efficiency=1.0) -> CurveSet:
        """Per-period response to a constant per-period spend, adstock at its steady state.

        ``efficiency`` multiplies the spend before the curve (0.9: spend buys 10 % less).
        """
        scale = steady_state_scale(self.decay, self.normalized, self.peak) * efficiency
        return self.curves.scaled(scale, 1.0)

    def horizon_curves(self, periods: int, efficiency=1.0) -> CurveSet:
        """Response over ``periods`` periods to a total spend spread evenly over them."""
        return self.steady_state_curves(efficiency).scaled(1.0 / periods, float(periods))

    def with_current_spend(self, current_spend) -> "MediaModel":
        return replace(self, current_spend=np.asarray(current_spend, float))

    def to_dict(self) -> dict:
        channels = []
        for i, name in enumerate(self.names):
            family = self.curves.family_names[i]
            curve = {"type": family, "beta": float(self.curves.beta[i])}
            if family != "linear":
                curve["k"] = float(self.curves.k[i])
            if family == "hill":
                curve["s"] = float(self.curves.s[i])
            channel = {"name": name, "curve": curve}
            if self.delayed[i]:
                channel["adstock"] = {"type": "delayed", "decay": float(self.decay[i]),
                                      "peak": float(self.peak[i]),
                                      "normalized": bool(self.normalized[i]),
                                      "recent_spend": [float(v) for v in self.recent_spend[i]]}
            elif self.has_adstock[i]:
                channel["adstock"] = {"type": "geometric", "decay": float(self.decay[i]),
                                      "normalized": bool(self.normalized[i])}
            if not math.isnan(self.current_spend[i]):
                channel["current_spend"] = float(self.current_spend[i])
            if self.carry_in[i]:
                channel["carry_in"] = float(self.carry_in[i])
            channels.append(channel)
        data = {"format": MODEL_FORMAT, "kpi": {"name": self.kpi_name, "type": self.kpi_type},
                "period": self.period, "baseline": self.baseline, "channels": channels}
        if self.fit is not None:
            data["fit"] = self.fit
        return {**self.extra, **data}


def write_model(model: MediaModel, path) -> None:
    """Write the model as ``budgetopt-model/1`` JSON (atomically)."""
    atomic_write_text(path, json.dumps(model.to_dict(), indent=2) + "\n")


def read_model(path) -> MediaModel:
    """Read a model JSON file or a curves CSV (chosen by the file's extension)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file.")
    if path.suffix.lower() == ".csv":
        return _read_curves_csv(path)
    return _read_model_json(path)


def _read_model_json(path: Path) -> MediaModel:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: line {error.lineno}, column {error.colno}: not valid JSON "
                         f"({error.msg}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file; expected a budgetopt model (JSON).") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'format' and 'channels'.")
    if data.get("format") != MODEL_FORMAT:
        raise InputError(f"{path}: 'format' must be \"{MODEL_FORMAT}\", got {data.get('format')!r}.")
    channels = data.get("channels")
    if not isinstance(channels, list) or not channels:
        raise InputError(f"{path}: 'channels' must be a non-empty list.")
    problems: list[str] = []
    rows = [_channel_row(entry, i, problems) for i, entry in enumerate(channels)]
    kpi = data.get("kpi") or {}
    kpi_type = kpi.get("type", KPI_REVENUE) if isinstance(kpi, dict) else None
    if kpi_type not in KPI_TYPES:
        problems.append(f"kpi.type must be one of {', '.join(KPI_TYPES)}, got {kpi_type!r}")
    baseline = data.get("baseline", 0.0)
    if not is_number(baseline):
        problems.append(f"baseline must be a number, got {baseline!r}")
    frame = pd.DataFrame([row for row in rows if row is not None])
    if problems:
        raise InputError.collected(f"{path}: invalid model:", problems)
    known = {"format", "kpi", "period", "baseline", "channels", "fit"}
    return _model_from_frame(
        frame, path, kpi_name=str(kpi.get("name", "kpi")), kpi_type=kpi_type,
        period=str(data.get("period", "week")), baseline=float(baseline), fit=data.get("fit"),
        extra={key: value for key, value in data.items() if key not in known})


def _channel_row(entry, index: int, problems: list[str]) -> dict | None:
    """Flatten one JSON channel into a row for :func:`_model_from_frame`."""
    where = f"channels[{index}]"
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected an object with 'name' and 'curve'")
        return None
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: missing key 'name'")
        return None
    curve = entry.get("curve")
    if not isinstance(curve, dict):
        problems.append(f"channel '{name}': missing key 'curve'")
        return None
    adstock = entry.get("adstock")
    if adstock is not None and not isinstance(adstock, dict):
        problems.append(f"channel '{name}': 'adstock' must be an object")
        adstock = None
    kind = None if adstock is None else adstock.get("type", "geometric")
    if kind not in (None, *ADSTOCK_TYPES):
        problems.append(f"channel '{name}': adstock.type must be 'geometric' or 'delayed', "
                        f"got {kind!r}")
    if adstock is not None and "decay" not in adstock:
        problems.append(f"channel '{name}': missing key adstock.decay")
    cell = lambda value: value if value is None or is_number(value) else repr(value)
    peak, recent = None, None
    if kind == "delayed":
        peak = cell(adstock.get("peak"))
        recent = adstock.get("recent_spend", [])
        if peak is None:
            problems.append(f"channel '{name}': missing key adstock.peak (delayed adstock)")
        if (not isinstance(recent, list) or len(recent) > DELAYED_LENGTH - 1
                or not all(is_number(v) and v >= 0 for v in recent)):
            problems.append(f"channel '{name}': adstock.recent_spend must list at most "
                            f"{DELAYED_LENGTH - 1} spends >= 0 (oldest first)")
            recent = []
    return {
        "channel": name, "type": curve.get("type"), "beta": cell(curve.get("beta")),
        "k": cell(curve.get("k")), "s": cell(curve.get("s")),
        "decay": None if adstock is None else cell(adstock.get("decay", 0.0)),
        "normalized": None if adstock is None else adstock.get("normalized", False),
        "current_spend": cell(entry.get("current_spend")), "carry_in": cell(entry.get("carry_in")),
        "peak": peak, "recent_spend": recent, "where": f"channel '{name}'",
    }


def _read_curves_csv(path: Path) -> MediaModel:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise InputError(f"{path}: not a readable CSV file ({error}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in CURVES_CSV_REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a curves CSV needs "
                         f"{','.join(CURVES_CSV_REQUIRED)} and may have "
                         f"{','.join(CURVES_CSV_OPTIONAL)}.")
    if frame.empty:
        raise InputError(f"{path}: no channels (the file has a header but no rows).")
    frame = frame.replace("", None)
    return _model_from_frame(frame, path)


def _model_from_frame(frame: pd.DataFrame, path: Path, **model_fields) -> MediaModel:
    """Validate channel rows (all problems at once) and build the model arrays."""
    problems: list[str] = []
    where = _locator(frame)
    names = frame["channel"].astype(str).str.strip()
    if (names == "").any() or frame["channel"].isna().any():
        bad = np.flatnonzero(frame["channel"].isna().to_numpy() | (names == "").to_numpy())
        problems += [f"{where(i)}: empty channel name" for i in bad[:5]]
    duplicated = names[names.duplicated(keep="first")]
    problems += [f"{where(i)}: duplicate channel name '{n}'" for i, n in duplicated.items()][:5]

    families = frame["type"].astype(str).str.strip().str.lower()
    unknown = ~families.isin(list(FAMILIES))
    for i in np.flatnonzero(unknown.to_numpy())[:5]:
        advice = did_you_mean(families.iloc[i], FAMILIES, f"use one of {', '.join(FAMILIES)}")
        problems.append(f"{where(i)}: unknown curve type {frame['type'].iloc[i]!r}; {advice}")
    families = families.where(~unknown, "linear")

    beta = _numbers(frame, "beta", where, problems, required=True)
    needs_k = (families != "linear").to_numpy()
    k = _numbers(frame, "k", where, problems, required=needs_k, default=1.0)
    needs_s = (families == "hill").to_numpy()
    s = _numbers(frame, "s", where, problems, required=needs_s, default=1.0)
    for label, values, mask in (("beta", beta, np.ones_like(needs_k)), ("k", k, needs_k),
                                ("s", s, needs_s)):
        bad = np.flatnonzero(mask & ~(values > 0) & ~np.isnan(values))
        problems += [f"{where(i)}: {label} must be > 0, got {values[i]:g}" for i in bad[:5]]

    decay = _numbers(frame, "decay", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(~np.isnan(decay) & ~((decay >= 0) & (decay < 1)))
    problems += [f"{where(i)}: adstock decay must be in [0, 1), got {decay[i]:g}" for i in bad[:5]]
    normalized = _flags(frame, "normalized", where, problems)
    current = _numbers(frame, "current_spend", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(current < 0)
    problems += [f"{where(i)}: current_spend must be >= 0, got {current[i]:g}" for i in bad[:5]]
    carry_in = _numbers(frame, "carry_in", where, problems, required=False, default=0.0)
    peak = _numbers(frame, "peak", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(~np.isnan(peak) & ~((peak >= 0) & (peak <= DELAYED_LENGTH - 1)))
    problems += [f"{where(i)}: adstock peak must be in [0, {DELAYED_LENGTH - 1}], got "
                 f"{peak[i]:g}" for i in bad[:5]]
    bad = np.flatnonzero(~np.isnan(peak) & ~(decay > 0))
    problems += [f"{where(i)}: a delayed adstock's decay must be in (0, 1)" for i in bad[:5]]
    if problems:
        raise InputError.collected(f"{path}: invalid channel definitions:", problems)
    recent = np.zeros((len(frame), DELAYED_LENGTH - 1))
    for i, values in enumerate(frame["recent_spend"] if "recent_spend" in frame.columns else []):
        if isinstance(values, list) and values:
            recent[i, DELAYED_LENGTH - 1 - len(values):] = values
    curves = CurveSet.from_lists(list(families), beta, k, np.where(needs_s, s, 1.0))
    return MediaModel(names=tuple(names), curves=curves, decay=decay, normalized=normalized,
                      current_spend=current, carry_in=carry_in, peak=peak, recent_spend=recent,
                      **model_fields)


def _locator(frame: pd.DataFrame):
    if "where" in frame.columns and frame["where"].notna().all():
        labels = list(frame["where"])
        return lambda i: labels[i]
    names = list(frame["channel"])
    return lambda i: f"line {i + 2} (channel '{names[i]}')"


def _numbers(frame, column, where, problems, *, required, default=np.nan) -> np.ndarray:
    """Column as floats; missing cells become ``default`` or a problem where ``required``."""
    if column not in frame.columns:
        raw = pd.Series([None] * len(frame))
    else:
        raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    missing = raw.isna().to_numpy()
    invalid = np.isnan(values) & ~missing
    invalid |= np.isinf(values)
    for i in np.flatnonzero(invalid)[:5]:
        problems.append(f"{where(i)}: {column} must be a number, got {raw.iloc[i]!r}")
    required = np.broadcast_to(required, missing.shape)
    for i in np.flatnonzero(missing & required)[:5]:
        problems.append(f"{where(i)}: missing {column}")
    return np.where(missing, default, values)


def _flags(frame, column, where, problems) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    truthy = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    flags = []
    for i, value in enumerate(frame[column]):
        if isinstance(value, bool) or pd.isna(value):
            flags.append(value is True)
        elif str(value).strip().lower() in truthy:
            flags.append(truthy[str(value).strip().lower()])
        else:
            problems.append(f"{where(i)}: {column} must be true or false, got {value!r}")
            flags.append(False)
    return np.array(flags, dtype=bool)

