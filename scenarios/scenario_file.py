"""Scenario files (TOML): a model, a base case and what-if cases that override it.

```toml
model = "model.json"               # relative to this file
[base]
budget = 1000000
constraints = "constraints.toml"   # optional
objective = "kpi"                  # or profit / target_roi / target_kpi / target_mroi
# target = 2.5, kpi_value = 40, periods = 13
[[case]]
name = "no tv, search +10% cost"
channels.tv.max = 0                # merged into the constraints' [channels.tv]
efficiency.search = 0.9            # spend buys 10 % less
```
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import did_you_mean, is_number, read_toml
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.budget import Budget, parse_budget
from budgetopt.optimizer.problem.cell_rules import check_rule_names
from budgetopt.optimizer.problem.constraints import Constraints, constraints_from_dict
from budgetopt.optimizer.problem.objectives import KPI, Objective
from budgetopt.optimizer.settings import MAX_HORIZON_PERIODS

__all__ = ["Case", "ScenarioSet", "read_scenarios"]

BASE = "base"
SETTING_KEYS = ("budget", "constraints", "objective", "target", "kpi_value", "periods")
CASE_KEYS = ("name", *SETTING_KEYS, "channels", "geos", "cells", "groups", "ratios",
             "efficiency")


@dataclass(frozen=True)
class Case:
    """One what-if: everything ``allocate`` needs, already validated."""

    name: str
    budget: Budget | None
    constraints: Constraints
    objective: Objective
    periods: int
    efficiency: dict[str, float] = field(default_factory=dict)

    def efficiency_array(self, channels) -> np.ndarray:
        """Per model entry (``channels``: each entry's channel) what its spend buys."""
        return np.array([self.efficiency.get(name, 1.0) for name in channels])


@dataclass(frozen=True)
class ScenarioSet:
    model: MediaModel
    cases: tuple[Case, ...]  # the base case first


def read_scenarios(path) -> ScenarioSet:
    """Read a scenario file, its model and constraints; every problem names its case and key."""
    path = Path(path)
    data = read_toml(path, "scenario")
    unknown = [key for key in data if key not in ("model", "base", "case")]
    if unknown:
        raise InputError(f"{path}: unknown key(s) {', '.join(unknown)}; a scenario file has "
                         f"model, [base] and [[case]] tables.")
    if not isinstance(data.get("model"), str):
        raise InputError(f"{path}: missing model = \"model.json\" (relative to this file).")
    model_path = path.parent / data["model"]
    if not model_path.is_file():
        raise InputError(f"{path}: line {_line_of(path, 'model')}: model = {data['model']!r}: "
                         f"no such model file (the path is relative to the scenario file).")
    model = read_model(model_path)
    base = data.get("base", {})
    cases_data = data.get("case", [])
    if not isinstance(base, dict) or not isinstance(cases_data, list):
        raise InputError(f"{path}: write the base as [base] and each case as [[case]].")
    problems: list[str] = []
    base_case = _case(path, model, BASE, base, {}, problems)
    cases = [base_case]
    seen = {BASE}
    for index, entry in enumerate(cases_data):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(f"case {index + 1}: missing name = \"...\"")
            continue
        if name in seen:
            problems.append(f"case '{name}': the name is used twice")
        seen.add(name)
        cases.append(_case(path, model, name, entry, base, problems))
    if problems:
        raise InputError.collected(f"{path}:", problems)
    return ScenarioSet(model=model, cases=tuple(c for c in cases if c is not None))


def _line_of(path: Path, key: str) -> int:
    """The line of the file where ``key = ...`` is set (1 when it cannot be found)."""
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip().startswith(key) and line.strip()[len(key):].lstrip().startswith("="):
            return number
    return 1


def _case(path: Path, model: MediaModel, name: str, entry: dict, base: dict,
          problems: list[str]) -> Case | None:
    where = f"case '{name}'" if name != BASE else "[base]"
    allowed = CASE_KEYS if name != BASE else tuple(k for k in CASE_KEYS if k != "name")
    for key in entry:
        if key not in allowed:
            problems.append(f"{where}: unknown key '{key}'; "
                            f"{did_you_mean(key, allowed, 'allowed: ' + ', '.join(allowed))}")
    settings = {**{k: base[k] for k in SETTING_KEYS if k in base},
                **{k: entry[k] for k in SETTING_KEYS if k in entry}}
    if "objective" in entry and "target" not in entry:
        settings.pop("target", None)  # a case's own objective does not take the base's target
    count = len(problems)
    budget = settings.get("budget")
    if budget is not None:
        try:
            budget = parse_budget(budget)
        except InputError as error:
            problems.append(f"{where}: {error}")
    periods = settings.get("periods", 1)
    if not (isinstance(periods, int) and not isinstance(periods, bool)
            and 1 <= periods <= MAX_HORIZON_PERIODS):
        problems.append(f"{where}: periods must be a whole number from 1 to "
                        f"{MAX_HORIZON_PERIODS}, got {periods!r}")
    try:
        objective = Objective(kind=settings.get("objective", KPI),
                              target=settings.get("target"),
                              kpi_value=settings.get("kpi_value", 1.0))
        objective.check_kpi_type(model.kpi_type, "kpi_value" in settings)
    except InputError as error:
        problems.append(f"{where}: {error}")
        objective = None
    efficiency = entry.get("efficiency", base.get("efficiency", {}))
    if not isinstance(efficiency, dict):
        problems.append(f"{where}: efficiency must be a table, e.g. efficiency.search = 0.9")
        efficiency = {}
    for channel, value in efficiency.items():
        if channel not in model.channel_names:
            problems.append(f"{where}: efficiency.{channel}: the model has no channel "
                            f"'{channel}'; {did_you_mean(channel, set(model.channel_names))}"
                            .rstrip("; "))
        elif not (is_number(value) and value > 0):
            problems.append(f"{where}: efficiency.{channel} must be a number > 0, got {value!r}")
    constraints = _constraints(path, model, where, settings.get("constraints"), entry, base,
                               problems)
    if len(problems) > count or objective is None or constraints is None:
        return None
    return Case(name=name, budget=budget,
                constraints=constraints, objective=objective, periods=periods,
                efficiency={k: float(v) for k, v in efficiency.items()})


def _constraints(path, model, where, file_name, entry, base, problems) -> Constraints | None:
    """The constraints file's rules with the base's, then the case's, overrides merged in."""
    data: dict = {}
    if file_name is not None:
        if not isinstance(file_name, str):
            problems.append(f"{where}: constraints must be a file name, got {file_name!r}")
            return None
        try:
            data = read_toml(path.parent / file_name, "constraints")
        except InputError as error:
            problems.append(f"{where}: {error}")
            return None
    data = copy.deepcopy(data)
    for layer in (base, entry):
        for table in ("channels", "geos"):
            for name, overrides in (layer.get(table) or {}).items():
                if not isinstance(overrides, dict):
                    problems.append(f"{where}: {table}.{name} must be a table of rules")
                    continue
                data.setdefault(table, {}).setdefault(name, {}).update(overrides)
        for geo, tables in (layer.get("cells") or {}).items():
            for channel, overrides in (tables if isinstance(tables, dict) else {}).items():
                if not isinstance(overrides, dict):
                    problems.append(f"{where}: cells.{geo}.{channel} must be a table of rules")
                    continue
                data.setdefault("cells", {}).setdefault(geo, {}).setdefault(
                    channel, {}).update(overrides)
        for key in ("groups", "ratios"):
            if key in layer:
                data[key] = layer[key]
    try:
        constraints = constraints_from_dict(data, where)
        check_rule_names(constraints, model)
        return constraints
    except InputError as error:
        problems.append(str(error))
        return None
