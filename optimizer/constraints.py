"""The constraints file (TOML): a budget and per-channel rules.

Per channel: ``min``, ``max``, ``fixed``, ``max_change`` (a share of the channel's current
spend) and ``min_if_on`` (a minimum commitment: 0, or at least this much). Amounts are totals
over the optimisation horizon, like the budget.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .validation import did_you_mean, is_number

__all__ = ["ChannelRules", "Constraints", "read_constraints"]

CHANNEL_KEYS = ("min", "max", "fixed", "max_change", "min_if_on")
TOP_LEVEL_KEYS = ("budget", "channels")


@dataclass(frozen=True)
class ChannelRules:
    """Rules for one channel; ``None`` means the rule is not set."""

    min: float | None = None
    max: float | None = None
    fixed: float | None = None
    max_change: float | None = None
    min_if_on: float | None = None


@dataclass(frozen=True)
class Constraints:
    budget: float | None = None
    channels: dict[str, ChannelRules] = field(default_factory=dict)
    source: str = "constraints"

    def check_channels(self, names) -> None:
        """Raise naming every channel in the rules that the model does not have."""
        known = set(names)
        problems = []
        for name in self.channels:
            if name not in known:
                advice = did_you_mean(name, known, f"its channels: {', '.join(sorted(known)[:10])}")
                problems.append(f"[channels.{name}]: the model has no channel '{name}'; {advice}")
        if problems:
            raise InputError.collected(f"{self.source}: unknown channel(s):", problems)


def read_constraints(path) -> Constraints:
    """Read and validate a constraints TOML file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such constraints file.")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}.") from None
    return constraints_from_dict(data, str(path))


def constraints_from_dict(data: dict, source: str) -> Constraints:
    problems: list[str] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(_unknown_key(key, TOP_LEVEL_KEYS, "top level"))
    budget = data.get("budget")
    if budget is not None and not (is_number(budget) and budget >= 0):
        problems.append(f"budget must be a number >= 0, got {budget!r}")
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
    if problems:
        raise InputError.collected(f"{source}: invalid constraints:", problems)
    return Constraints(budget=None if budget is None else float(budget), channels=rules,
                       source=source)


def _channel_rules(name: str, table: dict, problems: list[str]) -> ChannelRules:
    values = {}
    for key, value in table.items():
        where = f"channels.{name}.{key}"
        if key not in CHANNEL_KEYS:
            problems.append(_unknown_key(key, CHANNEL_KEYS, f"[channels.{name}]"))
        elif not is_number(value) or value < 0:
            problems.append(f"{where} must be a number >= 0, got {value!r}")
        else:
            values[key] = float(value)
    rules = ChannelRules(**values)
    if rules.min is not None and rules.max is not None and rules.min > rules.max:
        problems.append(f"channels.{name}: min ({rules.min:,.2f}) is above max ({rules.max:,.2f})")
    if rules.fixed is not None:
        for bound in ("min", "max"):
            limit = getattr(rules, bound)
            if limit is not None and (rules.fixed < limit if bound == "min" else rules.fixed > limit):
                problems.append(f"channels.{name}: fixed ({rules.fixed:,.2f}) is outside "
                                f"{bound} ({limit:,.2f}); drop one of them")
    return rules


def _unknown_key(key, allowed, where) -> str:
    advice = did_you_mean(key, allowed, f"allowed: {', '.join(allowed)}")
    return f"{where}: unknown key '{key}'; {advice}"

