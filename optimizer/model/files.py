"""Model files: the ``budgetopt-model/1`` JSON and the "bring your own curves" CSV.

JSON lives only here: readers turn the file into a :class:`MediaModel` (with its
:class:`FitReport`, :class:`ParameterDraws` and :class:`Seasonality`), writers turn it back.
Every problem in a file is reported at once, naming the channel or line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.constants import KPI_REVENUE, KPI_TYPES, MODEL_FORMAT
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import did_you_mean, is_number, read_json, table_line
from budgetopt.optimizer.files.outputs import write_text
from budgetopt.optimizer.model.adstock import ADSTOCK_TYPES, DELAYED_LENGTH
from budgetopt.optimizer.model.cells import GeoCells, cell_label
from budgetopt.optimizer.model.curves import FAMILIES, PARAMETER_RANGES, PARAMETER_SLOTS, CurveSet
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.model.report import FitReport
from budgetopt.optimizer.model.seasonality import Seasonality
from budgetopt.optimizer.settings import MAX_AMOUNT, MAX_LISTED

__all__ = ["read_model", "write_model", "model_to_dict", "model_from_table"]

CURVES_CSV_REQUIRED = ("channel", "type", "beta", "k")
CURVES_CSV_OPTIONAL = ("s", "decay", "normalized", "current_spend", "observed_max", "geo")
OBSERVED_KEYS = ("min", "max", "mean")
KNOWN_KEYS = ("format", "kpi", "period", "baseline", "channels", "fit", "bootstrap",
              "seasonality", "geos")


def model_to_dict(model: MediaModel) -> dict:
    """The model as the ``budgetopt-model/1`` JSON object."""
    channels = []
    cells = model.cells
    for i, name in enumerate(model.channel_names):
        family = FAMILIES[model.curves.family_names[i]]
        channel = {"name": name, **({"geo": cells.geo[i]} if cells else {}),
                   "curve": family.to_dict(model.curves.channel_parameters(i))}
        if model.delayed[i]:
            channel["adstock"] = {"type": "delayed", "decay": float(model.decay[i]),
                                  "peak": float(model.peak[i]),
                                  "normalized": bool(model.normalized[i]),
                                  "recent_spend": [float(v) for v in model.recent_spend[i]]}
        elif model.has_adstock[i]:
            channel["adstock"] = {"type": "geometric", "decay": float(model.decay[i]),
                                  "normalized": bool(model.normalized[i])}
        if not math.isnan(model.current_spend[i]):
            channel["current_spend"] = float(model.current_spend[i])
        if model.carry_in[i]:
            channel["carry_in"] = float(model.carry_in[i])
        if not np.isnan(model.observed[i]).all():
            channel["observed"] = {key: float(value) for key, value
                                   in zip(OBSERVED_KEYS, model.observed[i]) if np.isfinite(value)}
        channels.append(channel)
    data = {"format": MODEL_FORMAT, "kpi": {"name": model.kpi_name, "type": model.kpi_type},
            "period": model.period, "baseline": model.baseline, "channels": channels}
    if cells is not None and cells.population:
        data["geos"] = [{"name": g, "population": cells.population[g]} for g in cells.geos
                        if g in cells.population]
    if model.fit is not None:
        data["fit"] = model.fit.to_dict()
    if model.seasonality is not None:
        data["seasonality"] = model.seasonality.to_dict()
    if model.draws is not None:
        data["bootstrap"] = {"draws": model.draws.to_list()}
    return {**model.extra, **data}


def write_model(model: MediaModel, path) -> None:
    """Write the model as ``budgetopt-model/1`` JSON (atomically)."""
    write_text(path, json.dumps(model_to_dict(model), indent=2) + "\n")


def read_model(path) -> MediaModel:
    """Read a model JSON file or a curves CSV (chosen by the file's extension)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file.")
    if path.suffix.lower() == ".csv":
        return _read_curves_csv(path)
    return _read_model_json(path)


def _read_model_json(path: Path) -> MediaModel:
    data = read_json(path, "budgetopt model")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'format' and 'channels'.")
    if data.get("format") != MODEL_FORMAT:
        raise InputError(f"{path}: 'format' must be \"{MODEL_FORMAT}\", got "
                         f"{data.get('format')!r}.")
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
    population = _populations(data.get("geos"), problems)
    if problems:
        raise InputError.collected(f"{path}: invalid model:", problems)
    where = str(path)
    return model_from_table(
        frame, path, population=population, kpi_name=str(kpi.get("name", "kpi")), kpi_type=kpi_type,
        period=str(data.get("period", "week")), baseline=float(baseline),
        fit=FitReport.from_dict(data["fit"], where) if data.get("fit") is not None else None,
        draws=ParameterDraws.from_file(data.get("bootstrap"), len(frame), where),
        seasonality=Seasonality.from_dict(data["seasonality"], where)
        if _is_fitted_season(data.get("seasonality")) else None,
        extra={key: value for key, value in data.items() if key not in KNOWN_KEYS
               or key == "seasonality" and not _is_fitted_season(value)})


def _populations(geos, problems: list[str]) -> dict[str, float]:
    """The optional top-level ``geos`` list: each geo's population."""
    if geos is None:
        return {}
    if not isinstance(geos, list) or not all(isinstance(g, dict) for g in geos):
        problems.append("geos must be a list of {\"name\": ..., \"population\": ...} objects")
        return {}
    population = {}
    for i, entry in enumerate(geos):
        name, size = entry.get("name"), entry.get("population")
        if not isinstance(name, str) or not name:
            problems.append(f"geos[{i}]: missing key 'name'")
        elif size is not None and not (is_number(size) and size > 0):
            problems.append(f"geo '{name}': population must be a number > 0, got {size!r}")
        elif size is not None:
            population[name] = float(size)
    return population


def _is_fitted_season(value) -> bool:
    """A ``seasonality`` object written by a fit (others are kept as unknown keys)."""
    return isinstance(value, dict) and "fourier_order" in value


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
    geo = entry.get("geo")
    if geo is not None and not (isinstance(geo, str) and geo):
        problems.append(f"{where}: 'geo' must be a geo name, got {geo!r}")
        geo = None
    channel, name = name, name if geo is None else cell_label(geo, name)  # name: for messages
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
        "channel": channel, "geo": geo,
        "type": curve.get("type"), "beta": cell(curve.get("beta")),
        "k": cell(curve.get("k")), "s": cell(curve.get("s")),
        "decay": None if adstock is None else cell(adstock.get("decay", 0.0)),
        "normalized": None if adstock is None else adstock.get("normalized", False),
        "current_spend": cell(entry.get("current_spend")), "carry_in": cell(entry.get("carry_in")),
        **_observed_cells(entry.get("observed"), name, problems),
        "peak": peak, "recent_spend": recent, "where": f"channel '{name}'",
    }


def _observed_cells(observed, name: str, problems: list[str]) -> dict:
    """The ``observed`` object's numbers as row cells (observed_min, observed_max, ...)."""
    if observed is None:
        return {}
    if not isinstance(observed, dict):
        problems.append(f"channel '{name}': 'observed' must be an object with min, max, mean")
        return {}
    return {f"observed_{key}": observed.get(key) if observed.get(key) is None
            or is_number(observed.get(key)) else repr(observed.get(key)) for key in OBSERVED_KEYS}


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
    return model_from_table(frame, path)


def model_from_table(frame: pd.DataFrame, path: Path, population: dict | None = None,
                     **model_fields) -> MediaModel:
    """Validate channel rows (all problems at once) and build the model arrays. Rows with a
    ``geo`` make a geo model: then every row needs one, and each (geo, channel) pair is unique."""
    problems: list[str] = []
    where = _locator(frame)
    channels = frame["channel"].astype(str).str.strip()
    if (channels == "").any() or frame["channel"].isna().any():
        bad = np.flatnonzero(frame["channel"].isna().to_numpy() | (channels == "").to_numpy())
        problems += [f"{where(i)}: empty channel name" for i in bad[:MAX_LISTED]]
    cells, names = _cells(frame, channels, where, problems, population or {})
    duplicated = names[names.duplicated(keep="first")]
    what = "geo and channel" if cells is not None else "channel name"
    problems += [f"{where(i)}: duplicate {what} '{n}'"
                 for i, n in duplicated.items()][:MAX_LISTED]

    families = frame["type"].astype(str).str.strip().str.lower()
    unknown = ~families.isin(list(FAMILIES))
    for i in np.flatnonzero(unknown.to_numpy())[:MAX_LISTED]:
        advice = did_you_mean(families.iloc[i], FAMILIES, f"use one of {', '.join(FAMILIES)}")
        problems.append(f"{where(i)}: unknown curve type {frame['type'].iloc[i]!r}; {advice}")
    families = families.where(~unknown, "linear")

    declared = {slot: families.map({name: slot in family.param_names
                                    for name, family in FAMILIES.items()}).to_numpy(bool)
                for slot in PARAMETER_SLOTS}
    parameters = {slot: _numbers(frame, slot, where, problems, required=declared[slot],
                                 default=1.0) for slot in PARAMETER_SLOTS}
    for slot in PARAMETER_SLOTS:
        values = parameters[slot]
        bad = np.flatnonzero(declared[slot] & ~(values > 0) & ~np.isnan(values))
        problems += [f"{where(i)}: {slot} must be > 0, got {values[i]:g}"
                     for i in bad[:MAX_LISTED]]
        low, high = PARAMETER_RANGES[slot]
        wild = np.flatnonzero(declared[slot] & (values > 0) & ((values < low) | (values > high)))
        problems += [f"{where(i)}: {slot} = {values[i]:g} is outside what a response curve "
                     f"can hold ({low:g} to {high:g}); check the units" for i in wild[:MAX_LISTED]]

    decay = _numbers(frame, "decay", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(~np.isnan(decay) & ~((decay >= 0) & (decay < 1)))
    problems += [f"{where(i)}: adstock decay must be in [0, 1), got {decay[i]:g}"
                 for i in bad[:MAX_LISTED]]
    normalized = _flags(frame, "normalized", where, problems)
    current = _numbers(frame, "current_spend", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(current < 0)
    problems += [f"{where(i)}: current_spend must be >= 0, got {current[i]:g}"
                 for i in bad[:MAX_LISTED]]
    bad = np.flatnonzero(current > MAX_AMOUNT)
    problems += [f"{where(i)}: current_spend {current[i]:g} is above {MAX_AMOUNT:g}"
                 for i in bad[:MAX_LISTED]]
    carry_in = _numbers(frame, "carry_in", where, problems, required=False, default=0.0)
    bad = np.flatnonzero(~((carry_in >= 0) & (carry_in <= MAX_AMOUNT)))
    problems += [f"{where(i)}: carry_in must be between 0 and {MAX_AMOUNT:g}, got "
                 f"{carry_in[i]:g}" for i in bad[:MAX_LISTED]]
    peak = _numbers(frame, "peak", where, problems, required=False, default=np.nan)
    bad = np.flatnonzero(~np.isnan(peak) & ~((peak >= 0) & (peak <= DELAYED_LENGTH - 1)))
    problems += [f"{where(i)}: adstock peak must be in [0, {DELAYED_LENGTH - 1}], got "
                 f"{peak[i]:g}" for i in bad[:MAX_LISTED]]
    bad = np.flatnonzero(~np.isnan(peak) & ~(decay > 0))
    problems += [f"{where(i)}: a delayed adstock's decay must be in (0, 1)"
                 for i in bad[:MAX_LISTED]]
    observed = np.column_stack([
        _numbers(frame, f"observed_{key}", where, problems, required=False, default=np.nan)
        for key in OBSERVED_KEYS])
    bad = np.flatnonzero((observed < 0).any(axis=1) | (observed > MAX_AMOUNT).any(axis=1)
                         | (observed[:, 0] > observed[:, 1]))
    problems += [f"{where(i)}: observed spend must satisfy 0 <= min <= max <= {MAX_AMOUNT:g}"
                 for i in bad[:MAX_LISTED]]
    if problems:
        raise InputError.collected(f"{path}: invalid channel definitions:", problems)
    recent = np.zeros((len(frame), DELAYED_LENGTH - 1))
    for i, values in enumerate(frame["recent_spend"] if "recent_spend" in frame.columns else []):
        if isinstance(values, list) and values:
            recent[i, DELAYED_LENGTH - 1 - len(values):] = values
    curves = CurveSet.from_lists(list(families), *[np.where(declared[slot], parameters[slot], 1.0)
                                                   for slot in PARAMETER_SLOTS])
    return MediaModel(names=tuple(names), curves=curves, decay=decay, normalized=normalized,
                      current_spend=current, carry_in=carry_in, peak=peak, recent_spend=recent,
                      observed=observed, cells=cells, **model_fields)


def _cells(frame, channels, where, problems, population) -> tuple[GeoCells | None, pd.Series]:
    """The geo of each row (None: not a geo model) and the entry names."""
    if "geo" not in frame.columns or frame["geo"].isna().all():
        return None, channels
    geos = frame["geo"].astype(str).str.strip()
    missing = frame["geo"].isna().to_numpy() | (geos == "").to_numpy()
    problems += [f"{where(i)}: missing geo (a geo model gives every row one)"
                 for i in np.flatnonzero(missing)[:MAX_LISTED]]
    unknown = sorted(set(population) - set(geos))
    problems += [f"geos: '{g}' has a population but no channel" for g in unknown[:MAX_LISTED]]
    cells = GeoCells(geo=tuple(geos), channel=tuple(channels), population=dict(population))
    return cells, pd.Series(cells.labels, index=frame.index)


def _locator(frame: pd.DataFrame):
    """Where row ``i`` is, for messages (looked up only when a message needs it)."""
    if "where" in frame.columns and frame["where"].notna().all():
        labels = frame["where"]
        return lambda i: labels.iloc[i]
    names = frame["channel"]
    return lambda i: f"line {table_line(i)} (channel '{names.iloc[i]}')"


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
    for i in np.flatnonzero(invalid)[:MAX_LISTED]:
        problems.append(f"{where(i)}: {column} must be a number, got {raw.iloc[i]!r}")
    required = np.broadcast_to(required, missing.shape)
    for i in np.flatnonzero(missing & required)[:MAX_LISTED]:
        problems.append(f"{where(i)}: missing {column}")
    return np.where(missing, default, values)


def _flags(frame, column, where, problems) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    truthy = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    flags = []
    for i, value in enumerate(frame[column]):
        if isinstance(value, (list, dict)):
            problems.append(f"{where(i)}: {column} must be true or false, got {value!r}")
            flags.append(False)
        elif isinstance(value, bool) or pd.isna(value):
            flags.append(value is True)
        elif str(value).strip().lower() in truthy:
            flags.append(truthy[str(value).strip().lower()])
        else:
            problems.append(f"{where(i)}: {column} must be true or false, got {value!r}")
            flags.append(False)
    return np.array(flags, dtype=bool)

