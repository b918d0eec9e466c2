"""The report page: one HTML file, Plotly's script inlined once, nothing fetched from a network.

Plotly (plotly.py, MIT) draws the charts: interactive (hover, zoom) in a browser, its
JavaScript embedded in the file, and printable with the page's print stylesheet.
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
from budgetopt.optimizer.files.outputs import write_text
from budgetopt.optimizer.report.sections import (
    ReportInputs,
    curve_panels,
    efficiency_word,
    headline,
    waterfall,
)
from budgetopt.optimizer.settings import plural
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

__all__ = ["render_report", "write_report", "CHART_CLASS"]

CHART_CLASS = "chart"
CURRENT, RECOMMENDED, BAND, RANGE = "#7f7f7f", "#1f77b4", "rgba(31,119,180,0.18)", \
    "rgba(44,160,44,0.10)"
CURVE_COLUMNS = 3
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}
STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1.5rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.headline { font-size: 1.05rem; line-height: 1.5; background: #f6f8fa; padding: .8rem 1rem;
            border-radius: 6px; }
.big { font-size: 1.4rem; font-weight: 600; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warning { color: #a15c00; } .muted { color: #666; font-size: .85rem; }
.chart { width: 100%; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; }
               .chart, table, .headline { break-inside: avoid; } .modebar { display: none; } }
"""


def money(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def write_report(inputs: ReportInputs, path) -> None:
    """The report of ``inputs`` as one HTML file (an output set of one)."""
    write_text(path, render_report(inputs))


def render_report(inputs: ReportInputs) -> str:
    model = inputs.model
    cells = model.cells
    size = (f"{len(model)} channels" if cells is None else f"{len(model)} cells "
            f"({len(cells.geos)} geos x {len(cells.channels)} channels)")
    parts = [f"<h1>budgetopt report: {html.escape(model.kpi_name)}</h1>",
             f"<p class='muted'>{size}, KPI {html.escape(model.kpi_name)} "
             f"({html.escape(model.kpi_type)}), per {html.escape(model.period)}</p>"]
    parts += _allocation_sections(inputs)
    parts += _curves_section(inputs)
    parts += _fit_section(inputs)
    parts += _frontier_section(inputs)
    parts += _plan_section(inputs)
    parts += _scenarios_section(inputs)
    body = "\n".join(parts)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>budgetopt report</title><style>{STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{body}</body></html>")


def _figure(figure: go.Figure, height: int = 380) -> str:
    figure.update_layout(height=height, margin=dict(l=60, r=20, t=figure.layout.margin.t or 40,
                                                    b=50),
                         separators=".,", template="plotly_white", font=dict(family="Arial"))
    return f"<div class='{CHART_CLASS}'>" + figure.to_html(
        full_html=False, include_plotlyjs=False, config=CONFIG) + "</div>"


def _allocation_sections(inputs: ReportInputs) -> list[str]:
    top = headline(inputs)
    if top is None:
        return []
    unit = efficiency_word(inputs.model)
    lift_pct = f" ({100 * top.uplift / top.kpi_current:+.1f}%)" if top.kpi_current else ""
    lines = [f"<span class='big'>KPI {money(top.kpi_current)} now → {money(top.kpi)} "
             f"recommended, {money(top.uplift)}{lift_pct}</span>",
             f"budget {money(top.budget)} over {plural(inputs.model.period, top.periods)} = "
             f"{money(top.budget / top.periods)} per {inputs.model.period}"]
    if top.uplift_range is not None:
        lines.append(f"uplift p10–p90 over the model's draws: {money(top.uplift_range[0])} to "
                     f"{money(top.uplift_range[1])}" + (
                         f"; better than the current plan in {100 * top.probability_better:.0f}% "
                         f"of draws" if top.probability_better is not None else ""))
    if top.method:
        lines.append(f"method: {html.escape(top.method)}; status {html.escape(str(top.status))}, "
                     f"gap {top.gap:.1e}")
    if top.guard:
        lines.append(f"guard: {html.escape(top.guard)}")
    lines += [f"<span class='muted'>{html.escape(note)}</span>" for note in top.notes]
    frame = inputs.channel_allocation
    spend = go.Figure([
        go.Bar(name="current", x=frame["channel"], y=frame["current_spend"],
               marker_color=CURRENT, hovertemplate="%{x}: %{y:,.0f}<extra>current</extra>"),
        go.Bar(name="recommended", x=frame["channel"], y=frame["spend"],
               marker_color=RECOMMENDED,
               hovertemplate="%{x}: %{y:,.0f}<extra>recommended</extra>")])
    spend.update_layout(barmode="group", title="Spend per channel over the horizon",
                        yaxis_tickformat=",.0f")
    change = waterfall(inputs)
    steps = go.Figure(go.Waterfall(
        x=[*change["channel"], "total"], y=[*change["change"], 0],
        measure=["relative"] * len(change) + ["total"],
        hovertemplate="%{x}: %{y:+,.0f}<extra></extra>"))
    steps.update_layout(title="Where the KPI change comes from", yaxis_tickformat=",.0f")
    table = _table(["channel", "current", "recommended", "KPI current", "KPI", unit],
                   [[r.channel, money(r.current_spend), money(r.spend), money(r.kpi_current),
                     money(r.kpi), _ratio(r, unit)] for r in frame.itertuples()])
    geos = inputs.geo_allocation
    by_geo = [] if geos is None else ["<h3>Per geo, over its channels</h3>", _table(
        ["geo", "current", "recommended", "KPI current", "KPI", unit],
        [[r.geo, money(r.current_spend), money(r.spend), money(r.kpi_current), money(r.kpi),
          _ratio(r, unit)] for r in geos.itertuples()])]
    return ["<h2>Recommendation</h2>", "<div class='headline'>" + "<br>".join(lines) + "</div>",
            _figure(spend), table, *by_geo, _figure(steps)]


def _table(header: list[str], rows: list[list]) -> str:
    """An HTML table, every cell escaped."""
    cells = lambda tag, row: "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><tr>{cells('th', header)}</tr>{body}</table>"


def _ratio(row, unit: str) -> str:
    if unit == "CPA":
        return f"{row.spend / row.kpi:,.2f}" if row.kpi else "–"
    return f"{row.kpi / row.spend:,.2f}" if row.spend else "–"


def _curves_section(inputs: ReportInputs) -> list[str]:
    panels = curve_panels(inputs)
    rows = math.ceil(len(panels) / CURVE_COLUMNS)
    titles = [("⚠ " if p.flags else "") + p.channel for p in panels]
    figure = make_subplots(rows=rows, cols=CURVE_COLUMNS, subplot_titles=titles,
                           horizontal_spacing=0.06, vertical_spacing=min(0.3 / rows, 0.08))
    for number, panel in enumerate(panels):
        row, col = number // CURVE_COLUMNS + 1, number % CURVE_COLUMNS + 1
        curve = panel.curve
        if "kpi_p10" in curve.columns:
            figure.add_trace(go.Scatter(x=np.r_[curve["spend"], curve["spend"][::-1]],
                                        y=np.r_[curve["kpi_p90"], curve["kpi_p10"][::-1]],
                                        fill="toself", fillcolor=BAND, line_width=0,
                                        hoverinfo="skip", showlegend=False), row=row, col=col)
        figure.add_trace(go.Scatter(x=curve["spend"], y=curve["kpi"], mode="lines",
                                    line_color=RECOMMENDED, showlegend=False,
                                    hovertemplate="spend %{x:,.0f}: KPI %{y:,.0f}<extra></extra>"),
                         row=row, col=col)
        if panel.observed is not None:
            figure.add_vrect(x0=panel.observed[0], x1=panel.observed[1], fillcolor=RANGE,
                             line_width=0, row=row, col=col)
        for spend, colour, label in ((panel.current, CURRENT, "current"),
                                     (panel.recommended, RECOMMENDED, "recommended")):
            if spend is not None:
                value = float(np.interp(spend, curve["spend"], curve["kpi"]))
                figure.add_trace(go.Scatter(
                    x=[spend], y=[value], mode="markers", name=label, showlegend=False,
                    marker=dict(color=colour, size=10, symbol="circle" if label == "current"
                                else "diamond"),
                    hovertemplate=f"{label} %{{x:,.0f}}: KPI %{{y:,.0f}}<extra></extra>"),
                    row=row, col=col)
    figure.update_xaxes(tickformat=",.0f")
    figure.update_yaxes(tickformat=",.0f")
    figure.update_layout(title=f"Response curves per {inputs.model.period} at steady state "
                               f"(● current, ◆ recommended, shaded: spend the history covered)",
                         margin=dict(t=90))
    flagged = [f"<li class='warning'>{html.escape(p.channel)}: {html.escape(flag)}</li>"
               for p in panels for flag in p.flags]
    notes = f"<ul>{''.join(flagged)}</ul>" if flagged else ""
    return ["<h2>Response curves</h2>", _figure(figure, height=max(380, 260 * rows)), notes]


def _fit_section(inputs: ReportInputs) -> list[str]:
    report = inputs.model.fit
    if report is None:
        return []
    quality = [f"R² {report.r2:.3f}", f"MAPE {100 * report.mape:.1f}%"]
    if report.holdout_nrmse is not None:
        quality.append(f"CV NRMSE {report.holdout_nrmse:.3f}")
    parts = ["<h2>The fit</h2>", f"<p>{', '.join(quality)}; {html.escape(report.method)}</p>"]
    if report.series is not None:
        series = report.series
        figure = go.Figure()
        figure.add_trace(go.Scatter(x=series.dates, y=series.baseline, name="baseline",
                                    stackgroup="parts", line_width=0))
        for name, values in series.contributions.items():
            figure.add_trace(go.Scatter(x=series.dates, y=values, name=name,
                                        stackgroup="parts", line_width=0))
        figure.add_trace(go.Scatter(x=series.dates, y=series.actual, name="actual",
                                    line=dict(color="black", width=1.5)))
        figure.add_trace(go.Scatter(x=series.dates, y=series.fitted, name="fitted",
                                    line=dict(color="crimson", width=1.5, dash="dot")))
        figure.update_layout(title="Actual and fitted KPI: baseline and each channel's "
                                   "contribution", yaxis_tickformat=",.0f")
        parts.append(_figure(figure, height=420))
    if report.geo_effects is not None:
        parts += _geo_effects(report.geo_effects)
    if report.warnings:
        parts.append("<ul>" + "".join(f"<li class='warning'>{html.escape(w)}</li>"
                                      for w in report.warnings) + "</ul>")
    return parts


def _geo_effects(effects) -> list[str]:
    """Each geo's effectiveness per channel (1 = the national curve per head), with its sd."""
    figure = go.Figure(go.Heatmap(
        z=effects.effectiveness, x=list(effects.channels), y=list(effects.geos),
        customdata=effects.sd, zmid=1.0, colorscale="RdBu",
        hovertemplate="%{y}, %{x}: %{z:.2f} ± %{customdata:.2f}<extra></extra>"))
    figure.update_layout(title="Effectiveness per geo and channel (1 = the national curve per "
                               "head; partially pooled, hover for the posterior sd)")
    spread = ", ".join(f"{html.escape(c)} ±{100 * v:.0f}%"
                       for c, v in zip(effects.channels, effects.spread))
    return [_figure(figure, height=max(320, 22 * len(effects.geos) + 140)),
            f"<p>How much the geos differ per channel (the pooling strength the data "
            f"support): {spread}.</p>"]


def _frontier_section(inputs: ReportInputs) -> list[str]:
    frame = inputs.frontier
    if frame is None:
        return []
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=frame["budget"], y=frame["kpi"], name="best KPI",
                                mode="lines+markers",
                                hovertemplate="budget %{x:,.0f}: KPI %{y:,.0f}<extra></extra>"))
    figure.add_trace(go.Scatter(x=frame["budget"], y=frame["marginal_roi"],
                                name="marginal ROI", mode="lines", line_dash="dot"),
                     secondary_y=True)
    text = ""
    if "break_even" in frame.columns and frame["break_even"].any():
        row = frame[frame["break_even"]].iloc[0]
        figure.add_vline(x=float(row["budget"]), line_dash="dash", line_color="crimson",
                         annotation_text="break-even")
        text = (f"<p>The marginal ROI falls below 1 at a budget of {money(row['budget'])}: "
                f"beyond it the next unit of budget returns less than it costs.</p>")
    figure.update_layout(title="Budget frontier", xaxis_tickformat=",.0f",
                         yaxis_tickformat=",.0f")
    return ["<h2>Budget frontier</h2>", _figure(figure), text]


def _plan_section(inputs: ReportInputs) -> list[str]:
    frame = inputs.plan
    if frame is None:
        return []
    grid = frame.pivot_table(index="channel", columns="period", values="spend", aggfunc="sum")
    labels = [str(p) for p in grid.columns]
    if "date" in frame.columns and frame["date"].astype(str).str.len().gt(0).all():
        labels = list(frame.drop_duplicates("period").sort_values("period")["date"].astype(str))
    figure = go.Figure(go.Heatmap(z=grid.to_numpy(), x=labels, y=list(grid.index),
                                  colorscale="Blues", hovertemplate="%{y}, %{x}: %{z:,.0f}"
                                                                    "<extra></extra>"))
    figure.update_layout(title=f"Plan: spend per channel and {inputs.model.period}")
    parts = ["<h2>Plan</h2>", _figure(figure, height=max(300, 40 * len(grid) + 140))]
    season = inputs.model.seasonality
    if season is not None and labels and labels[0][:1].isdigit() and "-" in labels[0]:
        multipliers = season.multipliers(labels)
        line = go.Figure(go.Scatter(x=labels, y=multipliers, mode="lines+markers"))
        line.update_layout(title="The fitted season over the plan (1 = an average period)")
        parts.append(_figure(line, height=260))
    return parts


def _scenarios_section(inputs: ReportInputs) -> list[str]:
    frame = inputs.scenarios
    if frame is None:
        return []
    figure = go.Figure([go.Bar(name="KPI", x=frame["scenario"], y=frame["kpi"],
                               marker_color=RECOMMENDED)])
    if "spend" in frame.columns:
        figure.add_trace(go.Bar(name="spend", x=frame["scenario"], y=frame["spend"],
                                marker_color=CURRENT))
    figure.update_layout(barmode="group", title="Scenarios side by side",
                         yaxis_tickformat=",.0f")
    table = _table(["scenario", "budget", "spend", "KPI", "status"],
                   [[r.scenario, money(r.budget), money(getattr(r, "spend", float("nan"))),
                     money(r.kpi), getattr(r, "status", "")] for r in frame.itertuples()])
    return ["<h2>Scenarios</h2>", _figure(figure), table]
