"""Plain-text tables for the terminal (no colour, fixed-width, right-aligned numbers)."""

from __future__ import annotations

import math

import click
import numpy as np
from budgetopt.optimizer.allocate import HORIZON_WARNING_RATIO, budget_to_current_ratio
from budgetopt.optimizer.constants import KPI_CONVERSIONS
from budgetopt.optimizer.model.curves import FAMILIES
from budgetopt.optimizer.model.report import LAYOUT_GEO, ChannelFit
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.result.certificate import relative_gap
from budgetopt.optimizer.result.frontier import BEFORE, BEYOND, INSIDE
from budgetopt.optimizer.settings import MAX_LISTED, plural

__all__ = ["format_table", "allocation_table", "fit_table", "money"]


def money(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f}"


def ratio(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "-"
    return f"{value:.{digits}f}"


def percent(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "-"
    if round(value, digits) == 0:
        value = 0.0  # never "-0.0%"
    return f"{value:+.{digits}f}%"


def format_table(header: list[str], rows: list[list[str]], footer: list[str] | None = None) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    every = [header, *rows] + ([footer] if footer else [])
    widths = [max(len(row[i]) for row in every) for i in range(len(header))]
    line = lambda row: "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths)))
    rule = "  ".join("-" * w for w in widths)
    out = [line(header), rule, *(line(row) for row in rows)]
    if footer:
        out += [rule, line(footer)]
    return "\n".join(out)


def certificate_lines(certificate, *, with_bound: bool = True) -> list[str]:
    """The method line and the status line with the gap, the bound and the search effort."""
    bound = f" (bound {money(certificate.bound)})" if with_bound else ""
    return [f"method: {certificate.method}",
            f"status: {certificate.status}; gap to the proven upper bound {certificate.gap:.2e}"
            f"{bound}; {certificate.effort} "
            f"{certificate.effort_label}, {certificate.seconds:.2f} s"]


def _guard_shortfall(result: AllocationResult) -> str:
    """What the status line's certificate means beside a guarded answer: it proves the point
    fit's optimum, which the guard did not take all the way."""
    shortfall = relative_gap(result.certificate.bound, result.objective_value)
    if shortfall <= result.certificate.gap + 1e-9:
        return ""
    return (f" (the status line certifies the point fit's optimum; under the point fit this "
            f"answer is {shortfall:.2%} below its proven bound)")


def horizon_line(budget: float, periods: int, period: str) -> str:
    """The budget, its horizon and what it means per period."""
    unit = period if not period[0].isdigit() else f"period of {period}"
    return (f"budget {money(budget)} over {plural(period, periods)} = "
            f"{money(budget / periods)} per {unit}")


def warn_about_the_horizon(model, budget: float) -> None:
    """Warn (once, on stderr) when a one-period budget looks like a total for several periods."""
    ratio_ = budget_to_current_ratio(model, budget, 1)
    if ratio_ is not None and ratio_ >= HORIZON_WARNING_RATIO:
        current = float(np.nansum(model.current_spend))
        click.echo(f"warning: the budget {money(budget)} is {ratio_:.1f}x the current plan's "
                   f"spend per {model.period} ({money(current)}) but is read as the budget of "
                   f"one {model.period}; for a budget over several periods pass --periods "
                   f"(13 for a quarter of weeks)", err=True)


def efficiency_labels(kpi_type: str) -> tuple[str, str]:
    """Column names of the return per unit: ROI for revenue, CPA for conversions."""
    return ("cpa", "marginal cpa") if kpi_type == KPI_CONVERSIONS else ("roi", "marginal roi")


def efficiency(kpi_type: str, kpi: float, spend: float) -> float:
    """ROI (kpi / spend) or, for conversions, CPA (spend / kpi)."""
    if kpi_type == KPI_CONVERSIONS:
        return spend / kpi if kpi else math.nan
    return kpi / spend if spend else math.nan


def marginal_efficiency(kpi_type: str, marginal: float) -> float:
    """Marginal ROI, or for conversions the cost of the next conversion (1 / marginal)."""
    if kpi_type == KPI_CONVERSIONS:
        return 1.0 / marginal if marginal and marginal > 0 else math.nan
    return marginal


def allocation_table(result: AllocationResult, *, max_rows: int = 40) -> str:
    """Current vs recommended spend per channel, totals, lift and optimality facts."""
    problem = result.problem
    kind = problem.kpi_type
    frame = result.to_frame()
    shown = frame if len(frame) <= max_rows else frame.reindex(
        frame["change"].abs().sort_values(ascending=False).index[:max_rows])
    rows = [[r.channel, money(r.current_spend), money(r.spend), percent(r.change_pct),
             money(r.kpi_current), money(r.kpi), ratio(efficiency(kind, r.kpi, r.spend)),
             ratio(marginal_efficiency(kind, r.marginal_roi)), r.at_bound]
            for r in shown.itertuples()]
    current, spend = problem.current.sum(), result.total_spend
    kpi_current, kpi = result.total_kpi_current, result.total_kpi
    footer = ["total", money(current), money(spend),
              percent(100 * (spend - current) / current if current else math.nan),
              money(kpi_current), money(kpi), ratio(efficiency(kind, kpi, spend)),
              ratio(marginal_efficiency(kind, result.multiplier)), ""]
    header = ["channel", "current", "recommended", "change", "kpi current", "kpi",
              *efficiency_labels(kind), "at bound"]
    if problem.cells is not None:
        text = _geo_tables(result, kind, footer, max_rows)
    else:
        text = format_table(header, rows, footer)
    if len(frame) > max_rows and problem.cells is None:
        text += f"\n({max_rows} of {len(frame):,} channels shown: the largest changes)"
    lift = kpi - kpi_current
    lift_pct = f" ({percent(100 * lift / kpi_current, 2)})" if kpi_current else ""
    objective = f"objective: {result.objective}"
    if result.objective_value != kpi:
        objective += f"; value {money(result.objective_value)}"
    lines = [text, "", horizon_line(problem.budget, problem.periods, problem.period),
             f"KPI from media: {money(kpi_current)} now -> {money(kpi)} recommended, "
             f"lift {money(lift)}{lift_pct}", objective,
             *certificate_lines(result.certificate)]
    if result.uncertainty is not None:
        u = result.uncertainty
        lines += ["", f"uncertainty over {u.draws} bootstrap draws (KPI p10 / p50 / p90):",
                  f"  current      {' / '.join(money(v) for v in u.current)}",
                  f"  recommended  {' / '.join(money(v) for v in u.recommended)}",
                  f"  uplift       {' / '.join(money(v) for v in u.uplift)} (paired, draw by "
                  f"draw)",
                  f"  the recommendation beats the current plan in "
                  f"{100 * u.probability_better:.0f}% of draws"]
    if result.guard:
        lines.append(f"guard: {result.guard}{_guard_shortfall(result)}")
    if result.shadow_prices:
        lines += ["", "binding rules (what loosening each by one unit of money gains, in "
                      "objective):",
                  format_table(["rule", "gain"],
                               [[s.name, f"{s.value:.4g}"] for s in result.shadow_prices])]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


GEO_MOVES = 10  # the largest moves between cells a geo allocation lists


def _geo_tables(result: AllocationResult, kind: str, footer: list[str], max_rows: int) -> str:
    """A geo allocation: totals per channel and per geo, and the largest moves between cells."""
    def totals(by: str, limit: int) -> str:
        table = result.totals(by)
        change = table["spend"] - table["current_spend"]
        shown = table.loc[change.abs().sort_values(ascending=False).index[:limit]] \
            if len(table) > limit else table
        rows = [[str(name), money(r.current_spend), money(r.spend),
                 percent(100 * (r.spend - r.current_spend) / r.current_spend
                         if r.current_spend else math.nan),
                 money(r.kpi_current), money(r.kpi), ratio(efficiency(kind, r.kpi, r.spend))]
                for name, r in zip(shown.index, shown.itertuples())]
        text = format_table([by, "current", "recommended", "change", "kpi current", "kpi",
                             efficiency_labels(kind)[0]], rows, footer[:7])
        if len(table) > limit:
            text += f"\n({limit} of {len(table):,} {by}s shown: the largest changes)"
        return text

    frame = result.to_frame()
    moves = frame.reindex(frame["change"].abs().sort_values(ascending=False).index[:GEO_MOVES])
    rows = [[r.geo, r.channel, money(r.current_spend), money(r.spend), percent(r.change_pct),
             ratio(marginal_efficiency(kind, r.marginal_roi)), r.at_bound]
            for r in moves.itertuples()]
    return "\n".join([
        f"{len(frame):,} cells ({len(result.problem.cells.geos):,} geos x "
        f"{len(result.problem.cells.channels):,} channels); per channel, over all geos:",
        totals("channel", max_rows), "", "per geo, over its channels:",
        totals("geo", max_rows), "", "the largest moves between cells:",
        format_table(["geo", "channel", "current", "recommended", "change",
                      efficiency_labels(kind)[1], "at bound"], rows)])


def frontier_table(frontier) -> str:
    """Budget, best KPI, ROI and marginal ROI per row, and where the plan breaks even."""
    frame = frontier.to_frame()
    rows = [[money(r.budget), money(r.kpi), ratio(r.roi), ratio(r.marginal_roi),
             "<- break-even" if r.break_even else ""] for r in frame.itertuples()]
    text = format_table(["budget", "kpi", "roi", "marginal roi", ""], rows)
    first = frontier.results[0].problem
    text += (f"\neach budget is spread over {plural(first.period, first.periods)} "
             f"(per {first.period}: the budget / {first.periods})")
    place, last = frontier.break_even_place, frame["budget"].iloc[-1]
    if place == INSIDE:
        text += (f"\nbreak-even budget (marginal ROI = 1): {money(frontier.break_even)}; beyond "
                 f"it the next unit of budget returns less than it costs")
    elif place == BEFORE:
        text += (f"\nbreak-even budget (marginal ROI = 1): {money(frontier.break_even)}, below "
                 f"this range: every budget here returns less than its last unit costs")
    elif place == BEYOND:
        text += (f"\nthe marginal ROI is still {frontier.results[-1].multiplier:.2f} at "
                 f"{money(last)}: the break-even budget lies beyond this range")
    if frontier.infeasible:
        text += (f"\n{len(frontier.infeasible)} budget(s) cannot meet the rules and are left "
                 f"out: {', '.join(money(b) for b in frontier.infeasible[:MAX_LISTED])}")
    return text


GEOS_LISTED = 10  # cells of a geo fit listed as the most different from the national curve


def fit_table(model) -> str:
    """Per-channel fitted curves and fit facts of a model's fit report, and its quality."""
    report = model.fit
    lines = [_joint_fit_table(model) if report.is_joint else _channel_fit_table(report)]
    if report.lift_tests:
        lines += ["", "lift tests (KPI change per period):", format_table(
            ["test", "measured", "predicted", "standard error", "off by"],
            [[t.label, money(t.measured), money(t.predicted), money(t.standard_error),
              f"{t.misses_by:.1f} se"] for t in report.lift_tests])]
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _joint_fit_table(model) -> str:
    report = model.fit
    curves = model.curves
    cells, effects = model.cells, report.geo_effects
    names = model.names if cells is None else cells.channels
    entry = np.arange(len(names)) if cells is None else np.array(  # a channel's first cell
        [cells.of_channel(name)[0] for name in names], dtype=np.int64)
    per_cell = cells is not None
    columns = [  # (header, cell of channel c, shown)
        ("channel", lambda c, info: names[c], True),
        ("curve", lambda c, info: info.family, True),
        ("beta", lambda c, info: money(curves.beta[entry[c]]), not per_cell),
        ("k", lambda c, info: money(curves.k[entry[c]])
         if "k" in _parameters(curves, entry[c]) else "-", not per_cell),
        ("s", lambda c, info: ratio(curves.s[entry[c]])
         if "s" in _parameters(curves, entry[c]) else "-", True),
        ("decay", lambda c, info: ratio(model.decay[entry[c]]), True),
        ("peak", lambda c, info: ratio(model.peak[entry[c]], 1), bool(model.delayed.any())),
        ("kpi share", lambda c, info: f"{100 * (info.kpi_share or 0):.1f}%", True),
        ("roi", lambda c, info: ratio(info.roi), True),
        ("marginal roi", lambda c, info: ratio(info.marginal_roi), True),
        ("mroi p10-p90", lambda c, info: "-" if info.marginal_roi_range is None else
         f"{ratio(info.marginal_roi_range[0])}-{ratio(info.marginal_roi_range[1])}", True),
        ("geo spread", lambda c, info: f"±{100 * effects.spread[c]:.0f}%",
         effects is not None),
    ]
    shown = [(header, cell) for header, cell, visible in columns if visible]
    missing = ChannelFit(family="-")
    rows = [[cell(c, report.channels.get(name, missing)) for _, cell in shown]
            for c, name in enumerate(names)]
    if report.layout == LAYOUT_GEO:
        quality = (f"R² {report.r2:.3f} national, {report.r2_geo:.3f} per geo and period "
                   f"({report.geos} geos, a week effect shared by all), MAPE "
                   f"{100 * report.mape:.1f}%, CV NRMSE {report.holdout_nrmse:.3f}")
    else:
        quality = (f"R² {report.r2:.3f}, MAPE {100 * report.mape:.1f}%, NRMSE "
                   f"{report.nrmse:.3f} (rolling CV {report.holdout_nrmse:.3f}); yearly "
                   f"Fourier order {report.fourier_order}")
    lines = [format_table([header for header, _ in shown], rows),
             f"{quality}; baseline {100 * (report.baseline_share or 0):.1f}% of the KPI"]
    if effects is not None:
        lines += ["", "geo spread: how much the geos' effectiveness differs per channel (sd, "
                      "estimated from the data; each geo's curve is pooled towards the "
                      "national one by it)",
                  "geos whose effectiveness differs most from the national curve "
                  "(1.00 = national, ± posterior sd):",
                  format_table(["geo", "channel", "effectiveness", "sd"],
                               [[geo, channel, ratio(value), ratio(sd)] for geo, channel,
                                value, sd in effects.most_different(GEOS_LISTED)])]
    return "\n".join(lines)


def _channel_fit_table(report) -> str:
    rows = [[name, info.family, ratio(info.r2, 3),
             f"{100 * info.mape:.1f}%" if info.mape is not None else "-"]
            for name, info in report.channels.items()]
    footer = ["all", "", ratio(report.r2, 3), f"{100 * report.mape:.1f}%"]
    return format_table(["channel", "curve", "r2", "mape"], rows, footer)


def _parameters(curves, c: int) -> tuple[str, ...]:
    return FAMILIES[curves.family_names[c]].param_names


def compact(value: float) -> str:
    """1234567 -> 1.23M, 12345 -> 12.3k: short cells for the channel x period table."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


GEO_PLAN_ROWS = 20  # geos listed in a geo plan's table


def plan_table(result) -> str:
    """Channels x periods of spend, totals, and the plan beside the flat plan."""
    periods = result.spend.shape[1]
    header = ["channel", *[str(t + 1) for t in range(periods)], "total"]
    cells = result.cells
    if cells is None:
        names, spend = result.names, result.spend
    else:  # a geo plan: channel totals over the geos per period, then the geos' totals
        names, spend = cells.channels, cells.by_channel(result.spend)
    rows = [[name, *[compact(v) for v in spend[c]], money(spend[c].sum())]
            for c, name in enumerate(names)]
    footer = ["total", *[compact(v) for v in result.spend.sum(axis=0)],
              money(result.spend.sum())]
    tables = ["spend per period" + (":" if cells is None else ", per channel over all geos:"),
              format_table(header, rows, footer)]
    if cells is not None:
        by_geo = cells.by_geo(result.spend)
        order = np.argsort(-by_geo.sum(axis=1))[:GEO_PLAN_ROWS]
        shown = (f" ({len(order)} of {len(cells.geos):,} geos: the largest)"
                 if len(cells.geos) > len(order) else "")
        tables += [f"per geo over its channels{shown}:", format_table(
            ["geo", *header[1:]], [[cells.geos[g], *[compact(v) for v in by_geo[g]],
                                    money(by_geo[g].sum())] for g in order])]
    kpi, flat = result.total_kpi, result.flat_total_kpi
    counted = "counted" if result.count_carryover else "not counted (--count-carryover)"
    return "\n".join([
        *tables, "",
        horizon_line(float(result.spend.sum()), periods, result.period),
        f"KPI: {money(kpi)} (flat plan with the same channel totals: {money(flat)}, "
        f"{100 * (kpi - flat) / flat:+.2f}%)" if flat else f"KPI: {money(kpi)}",
        f"in the periods: {money(result.kpi.sum())}; carried out after the last period: "
        f"{money(result.tail.sum())}, {counted}",
        *certificate_lines(result.certificate, with_bound=False),
        *([f"guard: {result.guard}"] if result.guard else []),
        *[f"note: {note}" for note in result.notes]])
