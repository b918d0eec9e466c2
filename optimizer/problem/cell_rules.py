"""A geo model's rules as rules on its entries (one entry per geo and channel).

``[cells.G.C]`` is the entry ``G/C`` itself. ``[channels.C]`` bounds the channel's total over
all geos and ``[geos.G]`` the geo's total over its channels: each becomes a group of entries
(named "C, all geos" and "geo G" in messages). A group's ``geos`` keeps only those geos'
cells, and a ratio side that names a channel means the channel's total. Flighting and
step-change limits of a channel (plan rules) apply to each of its cells that sets none.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.files.checks import did_you_mean
from budgetopt.optimizer.model.cells import GeoCells, cell_label
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.constraints import ChannelRules, Constraints, GroupRule

__all__ = ["entry_constraints", "check_rule_names", "channel_total_name", "geo_total_name"]

SPREAD_KEYS = ("active_periods", "max_step_change")  # channel plan rules each cell inherits
TOTAL_ONLY = ("min_if_on", "max_per_period")  # channel keys a geo model cannot read as totals


def channel_total_name(channel: str) -> str:
    return f"{channel}, all geos"


def geo_total_name(geo: str) -> str:
    return f"geo {geo}"


def entry_constraints(constraints: Constraints, model: MediaModel, periods: int) -> Constraints:
    """``constraints`` over the model's entries (unchanged for a model without geos).

    Raises:
        InputError: a geo or channel the model does not have, geo rules on a national model,
            or a channel rule a geo model cannot read as a total.
        InfeasibleError: a channel's or geo's bounds contradict once max_change is applied.
    """
    if constraints.entries:
        return constraints
    cells = model.cells
    if cells is None:
        if constraints.has_geo_rules:
            raise InputError(f"{constraints.source}: [geos.*], [cells.*] and group geos need a "
                             f"geo model (one curve per geo and channel); this model has none.")
        return replace(constraints, entries=True)
    _check_names(constraints, cells)
    current = np.nan_to_num(model.current_spend) * periods
    problems: list[str] = []
    groups = [_total(channel_total_name(name), cells.of_channel(name), rules, current, cells,
                     problems) for name, rules in constraints.channels.items()]
    groups += [_total(geo_total_name(name), cells.of_geo(name), rules, current, cells,
                      problems) for name, rules in constraints.geos.items()]
    if problems:
        raise InfeasibleError.collected("the channel and geo totals contradict each other:",
                                        problems)
    for group in constraints.groups:
        keep = np.isin(cells.channel, group.channels)
        if group.geos is not None:
            keep &= np.isin(cells.geo, group.geos)
        groups.append(replace(group, channels=_labels(cells, np.flatnonzero(keep)), geos=None))
    user_groups = {g.name for g in constraints.groups}
    ratio_sides = {side for r in constraints.ratios for side in (r.numerator, r.denominator)
                   if side not in user_groups}
    groups += [GroupRule(name=channel_total_name(name),
                         channels=_labels(cells, cells.of_channel(name)))
               for name in sorted(ratio_sides) if name not in constraints.channels]
    side = lambda name: name if name in user_groups else channel_total_name(name)
    ratios = tuple(replace(r, numerator=side(r.numerator), denominator=side(r.denominator))
                   for r in constraints.ratios)
    return replace(constraints, channels=_cell_rules(constraints, cells), groups=tuple(groups),
                   ratios=ratios, geos={}, cells={}, entries=True)


def check_rule_names(constraints: Constraints, model: MediaModel) -> None:
    """Raise :class:`InputError` naming every geo, channel or cell the model does not have."""
    if model.cells is None:
        entry_constraints(constraints, model, 1)
        constraints.check_channels(model.names)
    else:
        _check_names(constraints, model.cells)


def _labels(cells: GeoCells, index) -> tuple[str, ...]:
    return tuple(cells.labels[i] for i in index)


def _total(name: str, index: np.ndarray, rules, current: np.ndarray, cells: GeoCells,
           problems: list[str]) -> GroupRule:
    """A channel's or geo's total rules as a group of its cells."""
    low, high = rules.min, rules.max
    if rules.max_change is not None:
        now = float(current[index].sum())
        low = max(low or 0.0, now * (1 - rules.max_change))
        high = min(np.inf if high is None else high, now * (1 + rules.max_change))
    if rules.fixed is not None:
        low = high = rules.fixed
    if low is not None and high is not None and low > high:
        problems.append(f"{name}: its minimum {low:,.2f} is above its maximum {high:,.2f} "
                        f"once max_change (±{rules.max_change:.0%} of its current total) is "
                        f"applied")
    shares = {key: getattr(rules, key, None) for key in ("min_share", "max_share")}
    return GroupRule(name=name, channels=_labels(cells, index), min=low, max=high, **shares)


def _cell_rules(constraints: Constraints, cells: GeoCells) -> dict[str, ChannelRules]:
    """Each cell's own rules, with its channel's flighting and step limits where it has none."""
    rules = {cell_label(geo, channel): own for (geo, channel), own in constraints.cells.items()}
    for channel, channel_rules in constraints.channels.items():
        spread = {key: getattr(channel_rules, key) for key in SPREAD_KEYS
                  if getattr(channel_rules, key) is not None}
        if not spread:
            continue
        for label in _labels(cells, cells.of_channel(channel)):
            own = rules.get(label, ChannelRules())
            rules[label] = replace(own, **{key: value for key, value in spread.items()
                                           if getattr(own, key) is None})
    return rules


def _check_names(constraints: Constraints, cells: GeoCells) -> None:
    """Every geo, channel and cell the rules name exists; totals-only keys are not misread."""
    geos, channels, pairs = set(cells.geos), set(cells.channels), set(zip(cells.geo,
                                                                          cells.channel))
    geo_hint = lambda g: did_you_mean(g, geos, f"its geos: {', '.join(sorted(geos)[:10])}")
    channel_hint = lambda c: did_you_mean(c, channels,
                                          f"its channels: {', '.join(sorted(channels)[:10])}")
    problems = [f"[geos.{g}]: the model has no geo '{g}'; {geo_hint(g)}"
                for g in constraints.geos if g not in geos]
    problems += [f"[channels.{c}]: the model has no channel '{c}'; {channel_hint(c)}"
                 for c in constraints.channels if c not in channels]
    for geo, channel in constraints.cells:
        where = f"[cells.{geo}.{channel}]"
        if geo not in geos:
            problems.append(f"{where}: the model has no geo '{geo}'; {geo_hint(geo)}")
        elif channel not in channels:
            problems.append(f"{where}: the model has no channel '{channel}'; "
                            f"{channel_hint(channel)}")
        elif (geo, channel) not in pairs:
            problems.append(f"{where}: geo '{geo}' has no curve for channel '{channel}'")
    for group in constraints.groups:
        problems += [f"group '{group.name}': the model has no channel '{c}'; {channel_hint(c)}"
                     for c in group.channels if c not in channels]
        problems += [f"group '{group.name}': the model has no geo '{g}'; {geo_hint(g)}"
                     for g in group.geos or () if g not in geos]
    group_names = {g.name for g in constraints.groups}
    for ratio in constraints.ratios:
        problems += [f"ratio '{ratio.name}': '{side}' is neither a channel nor a group; "
                     f"{channel_hint(side)}" for side in (ratio.numerator, ratio.denominator)
                     if side not in channels and side not in group_names]
    for name, rules in constraints.channels.items():
        problems += [f"[channels.{name}].{key}: in a geo model [channels.{name}] bounds the "
                     f"channel's total over all geos; set {key} per cell in "
                     f"[cells.GEO.{name}]" for key in TOTAL_ONLY
                     if getattr(rules, key) is not None]
    if problems:
        raise InputError.collected(f"{constraints.source}: rules the geo model cannot apply:",
                                   problems)
