"""The constraints file (TOML): a budget, per-channel rules, groups and ratios.

Per channel: ``min``, ``max``, ``fixed``, ``max_change`` (a share of the channel's current
spend) and ``min_if_on`` (a minimum commitment: 0, or at least this much). ``[[groups]]`` bound
the spend of a set of channels (``min``/``max`` absolute, ``min_share``/``max_share`` of the total
spend). ``[[ratios]]`` bound one channel's or group's spend relative to another's. Amounts are
totals over the optimisation horizon, like the budget.

A geo model adds ``[geos.G]`` (the geo's total over its channels) and ``[cells.G.C]`` (one
geo's channel); its ``[channels.C]`` then bound the channel's total over all geos, and a group
may count only ``geos = [...]``. :mod:`.cell_rules` turns those into rules on the model's
entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import did_you_mean, is_number, read_toml
from budgetopt.optimizer.problem.budget import Budget, parse_budget
from budgetopt.optimizer.settings import MAX_AMOUNT

__all__ = ["ChannelRules", "GeoRules", "GroupRule", "RatioRule", "Constraints",
           "read_constraints", "CELL_KEYS"]

AMOUNT_KEYS = ("min", "max", "fixed", "max_change", "min_if_on", "max_per_period",
               "max_step_change")
CHANNEL_KEYS = (*AMOUNT_KEYS, "active_periods")
PACING_KEYS = ("periods", "min_share", "max_share")
GROUP_KEYS = ("name", "channels", "min", "max", "min_share", "max_share", "geos")
RATIO_KEYS = ("name", "numerator", "denominator", "min", "max")
GEO_KEYS = ("min", "max", "fixed", "max_change", "min_share", "max_share")
CELL_KEYS = CHANNEL_KEYS
TOP_LEVEL_KEYS = ("budget", "channels", "groups", "ratios", "pacing", "geos", "cells")


@dataclass(frozen=True)
class ChannelRules:
    """Rules for one channel; ``None`` means the rule is not set.

    ``max_per_period``, ``active_periods`` (1-based inclusive ranges, flighting) and
    ``max_step_change`` (a share of the previous period's spend) only apply to ``plan``.
    """

    min: float | None = None
    max: float | None = None
    fixed: float | None = None
    max_change: float | None = None
    min_if_on: float | None = None
    max_per_period: float | None = None
    max_step_change: float | None = None
    active_periods: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class GeoRules:
    """Rules on one geo's total over its channels (geo models)."""

    min: float | None = None
    max: float | None = None
    fixed: float | None = None
    max_change: float | None = None
    min_share: float | None = None
    max_share: float | None = None


@dataclass(frozen=True)
class GroupRule:
    """Bounds on the total spend of ``channels``: absolute, and as shares of all spend.

    In a geo model ``geos`` (when set) restricts the group to those geos' cells."""

    name: str
    channels: tuple[str, ...]
    min: float | None = None
    max: float | None = None
    min_share: float | None = None
    max_share: float | None = None
    geos: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RatioRule:
    """``min <= spend(numerator) / spend(denominator) <= max``; each side a channel or group."""

    name: str
    numerator: str
    denominator: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class PacingRule:
    """Share of the budget spent in periods ``first``..``last`` (1-based, inclusive)."""

    first: int
    last: int
    min_share: float | None = None
    max_share: float | None = None


@dataclass(frozen=True)
class Constraints:
    budget: Budget | None = None
    channels: dict[str, ChannelRules] = field(default_factory=dict)
    groups: tuple[GroupRule, ...] = ()
    ratios: tuple[RatioRule, ...] = ()
    pacing: tuple[PacingRule, ...] = ()
    source: str = "constraints"
    geos: dict[str, GeoRules] = field(default_factory=dict)
    cells: dict[tuple[str, str], ChannelRules] = field(default_factory=dict)
    entries: bool = False  # the rules name model entries (a geo model's read through its cells)

    @property
    def has_geo_rules(self) -> bool:
        return bool(self.geos or self.cells or any(g.geos for g in self.groups))

    def members(self, name: str) -> tuple[str, ...]:
        """The channels of a group, or the channel itself (for ratio sides)."""
        for group in self.groups:
            if group.name == name:
                return group.channels
        return (name,)

    def check_channels(self, names) -> None:
        """Raise naming every channel in the rules that the model does not have."""
        known = set(names)
        hint = lambda name: did_you_mean(name, known,
                                         f"its channels: {', '.join(sorted(known)[:10])}")
        problems = [f"[channels.{name}]: the model has no channel '{name}'; {hint(name)}"
                    for name in self.channels if name not in known]
        for group in self.groups:
            problems += [f"group '{group.name}': the model has no channel '{name}'; {hint(name)}"
                         for name in group.channels if name not in known]
        group_names = {group.name for group in self.groups}
        for ratio in self.ratios:
            for side in (ratio.numerator, ratio.denominator):
                if side not in known and side not in group_names:
                    problems.append(f"ratio '{ratio.name}': '{side}' is neither a channel nor a "
                                    f"group; {hint(side)}")
        if problems:
            raise InputError.collected(f"{self.source}: unknown channel(s):", problems)


def read_constraints(path) -> Constraints:
    """Read and validate a constraints TOML file."""
    return constraints_from_dict(read_toml(path, "constraints"), str(path))


def constraints_from_dict(data: dict, source: str) -> Constraints:
    problems: list[str] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"top level: {_unknown_key(key, TOP_LEVEL_KEYS)}")
    budget = None
    if data.get("budget") is not None:
        try:
            budget = parse_budget(data["budget"])
        except InputError as error:
            problems.append(str(error))
    channels = data.get("channels", {})
    if not isinstance(channels, dict):
        problems.append("[channels] must be a table of [channels.NAME] tables")
        channels = {}
    rules = {}
    for name, table in channels.items():
        if not isinstance(table, dict):
            problems.append(f"[channels.{name}] must be a table, e.g. min = 1000")
            continue
        rules[name] = _channel_rules(name, table, problems)
    groups = tuple(_group(i, table, problems) for i, table in
                   enumerate(_table_list(data, "groups", problems)))
    ratios = tuple(_ratio(i, table, problems) for i, table in
                   enumerate(_table_list(data, "ratios", problems)))
    names = [group.name for group in groups]
    problems += [f"[[groups]]: the name '{name}' is used twice" for name in
                 sorted({n for n in names if names.count(n) > 1})]
    problems += [f"group '{name}' has the name of a channel; rename the group"
                 for name in names if name in rules]
    pacing = tuple(_pacing(i, table, problems) for i, table in
                   enumerate(_table_list(data, "pacing", problems)))
    geos = {name: _geo_rules(name, table, problems)
            for name, table in _tables(data.get("geos", {}), "geos", problems).items()}
    cells = {}
    for geo, tables in _tables(data.get("cells", {}), "cells", problems).items():
        for channel, table in _tables(tables, f"cells.{geo}", problems).items():
            cells[geo, channel] = _channel_rules(channel, table, problems,
                                                 where=f"cells.{geo}.{channel}")
    if problems:
        raise InputError.collected(f"{source}: invalid constraints:", problems)
    return Constraints(budget=budget, channels=rules, groups=groups, ratios=ratios,
                       pacing=pacing, source=source, geos=geos, cells=cells)


def _tables(tables, where: str, problems: list[str]) -> dict[str, dict]:
    """The named sub-tables of the table ``where`` (e.g. [geos.north] of [geos])."""
    if not isinstance(tables, dict):
        problems.append(f"[{where}] must be a table of [{where}.NAME] tables")
        return {}
    good = {}
    for name, table in tables.items():
        if isinstance(table, dict):
            good[name] = table
        else:
            problems.append(f"[{where}.{name}] must be a table, e.g. max = 1000")
    return good


def _geo_rules(name: str, table: dict, problems: list[str]) -> GeoRules:
    where = f"geos.{name}"
    problems += [f"[{where}]: {_unknown_key(key, GEO_KEYS)}" for key in table
                 if key not in GEO_KEYS]
    values = _amounts(where, table, GEO_KEYS, problems)
    for key in ("min_share", "max_share"):
        if values.get(key, 0.0) > 1:
            problems.append(f"{where}.{key} is a share of the total, between 0 and 1; got "
                            f"{values[key]:g}")
    rules = GeoRules(**values)
    if rules.min is not None and rules.max is not None and rules.min > rules.max:
        problems.append(f"{where}: min ({rules.min:,.2f}) is above max ({rules.max:,.2f})")
    return rules


def _period_range(where: str, value, problems: list[str]) -> tuple[int, int] | None:
    """``[first, last]``, 1-based and inclusive."""
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 1 <= value[0] <= value[1]):
        return value[0], value[1]
    problems.append(f"{where} must be a period range [first, last] with 1 <= first <= last, "
                    f"got {value!r}")
    return None


def _pacing(index: int, table: dict, problems: list[str]) -> PacingRule:
    where = f"pacing[{index}]"
    problems += [f"{where}: {_unknown_key(key, PACING_KEYS)}" for key in table
                 if key not in PACING_KEYS]
    periods = _period_range(f"{where}.periods", table.get("periods"), problems) or (1, 1)
    values = _amounts(where, table, ("min_share", "max_share"), problems)
    if any(v > 1 for v in values.values()):
        problems.append(f"{where}: shares are of the budget, between 0 and 1")
    if not values:
        problems.append(f"{where}: set min_share and/or max_share")
    return PacingRule(periods[0], periods[1], **values)


def _table_list(data: dict, key: str, problems: list[str]) -> list[dict]:
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{key} must be written as [[{key}]] tables")
        return []
    return tables


def _amounts(where: str, table: dict, keys, problems: list[str]) -> dict:
    """The numeric keys of a table, each checked to be a number >= 0."""
    values = {}
    for key in keys:
        if key not in table:
            continue
        value = table[key]
        if not is_number(value) or not 0 <= value <= MAX_AMOUNT:
            problems.append(f"{where}.{key} must be a number from 0 to {MAX_AMOUNT:g}, got "
                            f"{value!r}")
        else:
            values[key] = float(value)
    return values


def _group(index: int, table: dict, problems: list[str]) -> GroupRule:
    name = table.get("name")
    where = f"group '{name}'" if isinstance(name, str) and name else f"groups[{index}]"
    if not (isinstance(name, str) and name):
        problems.append(f"{where}: missing name = \"...\"")
        name = f"groups[{index}]"
    problems += [f"{where}: {_unknown_key(key, GROUP_KEYS)}" for key in table
                 if key not in GROUP_KEYS]
    channels = table.get("channels")
    if not (isinstance(channels, list) and channels and all(isinstance(c, str) for c in channels)):
        problems.append(f"{where}: channels must be a non-empty list of channel names")
        channels = []
    values = _amounts(where, table, ("min", "max", "min_share", "max_share"), problems)
    for key in ("min_share", "max_share"):
        if values.get(key, 0.0) > 1:
            problems.append(f"{where}.{key} is a share of the total, between 0 and 1; got "
                            f"{values[key]:g}")
    for low, high in (("min", "max"), ("min_share", "max_share")):
        if low in values and high in values and values[low] > values[high]:
            problems.append(f"{where}: {low} ({values[low]:,.2f}) is above {high} "
                            f"({values[high]:,.2f})")
    if not values:
        problems.append(f"{where}: set at least one of min, max, min_share, max_share")
    geos = table.get("geos")
    if geos is not None and not (isinstance(geos, list) and geos
                                 and all(isinstance(g, str) for g in geos)):
        problems.append(f"{where}: geos must be a non-empty list of geo names")
        geos = None
    return GroupRule(name=name, channels=tuple(channels), **values,
                     geos=tuple(geos) if geos is not None else None)


def _ratio(index: int, table: dict, problems: list[str]) -> RatioRule:
    numerator, denominator = table.get("numerator"), table.get("denominator")
    default = f"{numerator}/{denominator}"
    name = table.get("name", default)
    where = f"ratio '{name}'"
    problems += [f"{where}: {_unknown_key(key, RATIO_KEYS)}" for key in table
                 if key not in RATIO_KEYS]
    for key, side in (("numerator", numerator), ("denominator", denominator)):
        if not (isinstance(side, str) and side):
            problems.append(f"{where}: missing {key} = \"channel or group\"")
    values = _amounts(where, table, ("min", "max"), problems)
    if not values:
        problems.append(f"{where}: set min and/or max (numerator >= min x denominator)")
    if "min" in values and "max" in values and values["min"] > values["max"]:
        problems.append(f"{where}: min ({values['min']:g}) is above max ({values['max']:g})")
    return RatioRule(name=str(name), numerator=str(numerator), denominator=str(denominator),
                     **values)


def _channel_rules(name: str, table: dict, problems: list[str], *, where: str | None = None
                   ) -> ChannelRules:
    place = where or f"channels.{name}"
    problems += [f"[{place}]: {_unknown_key(key, CHANNEL_KEYS)}" for key in table
                 if key not in CHANNEL_KEYS]
    values = _amounts(place, table, AMOUNT_KEYS, problems)
    if "active_periods" in table:
        ranges = table["active_periods"]
        where = f"{place}.active_periods"
        if not isinstance(ranges, list) or not ranges:
            problems.append(f"{where} must be a list of period ranges, e.g. [[1, 6], [10, 13]]")
        else:
            parsed = [_period_range(where, r, problems) for r in ranges]
            values["active_periods"] = tuple(r for r in parsed if r is not None)
    rules = ChannelRules(**values)
    if rules.min is not None and rules.max is not None and rules.min > rules.max:
        problems.append(f"{place}: min ({rules.min:,.2f}) is above max ({rules.max:,.2f})")
    if rules.fixed is not None:
        for bound in ("min", "max"):
            limit = getattr(rules, bound)
            if limit is None:
                continue
            if rules.fixed < limit if bound == "min" else rules.fixed > limit:
                problems.append(f"{place}: fixed ({rules.fixed:,.2f}) is outside "
                                f"{bound} ({limit:,.2f}); drop one of them")
    return rules


def _unknown_key(key, allowed) -> str:
    advice = did_you_mean(key, allowed, f"allowed: {', '.join(allowed)}")
    return f"unknown key '{key}'; {advice}"

