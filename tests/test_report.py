"""The report: each section's data, the curves table, and the page in a real headless browser."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.report.sections import (
    ReportInputs,
    curve_panels,
    headline,
    read_report_inputs,
    waterfall,
)
from conftest import run

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
DEMO = ROOT / "scenarios" / "examples" / "demo_model.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def test_curves_csv_equals_the_steady_state_curves(tmp_path):
    out = tmp_path / "curves.csv"
    result = run("curves", DEMO, "--points", 21, "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["channel", "spend", "kpi", "marginal_roi"]
    model = json.loads(DEMO.read_text())
    for channel in model["channels"]:  # the contract's formulas, written out here again
        rows = frame[frame["channel"] == channel["name"]]
        c, decay = channel["curve"], channel["adstock"]["decay"]
        x = rows["spend"].to_numpy() / (1 - decay)
        beta, k = c["beta"], c["k"]
        expected = {"hill": lambda: beta * x ** c["s"] / (x ** c["s"] + k ** c["s"]),
                    "exponential": lambda: beta * (1 - np.exp(-x / k)),
                    "logistic": lambda: beta * (1 - np.exp(-x / k)) / (1 + np.exp(-x / k)),
                    "log": lambda: beta * np.log1p(x / k)}[c["type"]]()
        kpi = rows["kpi"].to_numpy()
        np.testing.assert_allclose(kpi, expected, rtol=1e-6)
        assert len(rows) == 21 and rows["spend"].iloc[0] == 0


def test_section_data_follow_the_allocation():
    model = read_model(DEMO)
    result = allocate(model, periods=13)
    inputs = ReportInputs(model, allocation=result.to_frame(), summary=result.summary())
    top = headline(inputs)
    assert top.kpi == pytest.approx(result.total_kpi) and top.periods == 13
    assert top.kpi_current == pytest.approx(result.total_kpi_current)
    steps = waterfall(inputs)
    assert steps["change"].sum() == pytest.approx(result.total_kpi - result.total_kpi_current)
    panels = curve_panels(inputs)
    assert [p.channel for p in panels] == list(model.names)
    tv = panels[model.names.index("tv")]
    assert tv.recommended == pytest.approx(result.spend[model.names.index("tv")] / 13)
    assert tv.curve["spend"].max() >= tv.recommended


def rendered(path: Path, tmp_path: Path):
    """(DOM after scripts ran, console messages, external resources) of a page in headless
    Chromium. Every request goes to a proxy that refuses it, so a page that tried to fetch
    anything logs a console error; the DOM after its scripts ran names what it would load."""
    process = subprocess.run(
        [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=120)
    console = [line for line in process.stderr.splitlines() if "CONSOLE" in line]
    external = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?!data:)([^"]+)"',
                          process.stdout)
    return process.stdout, console, external


@pytest.mark.slow
@pytest.mark.browser
def test_a_robyn_report_renders_offline_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium: .ci/run installs it with apt-get")
        pytest.skip("no Chromium here: apt-get install -y chromium (CI installs it)")
    model = tmp_path / "model.json"
    assert run("fit", DATA / "robyn_dt_simulated_weekly.csv", "--date", "DATE", "--kpi",
               "revenue", "--channels", "tv=tv_S,ooh=ooh_S,print=print_S,facebook=facebook_S,"
               "search=search_S", "--controls", "competitor_sales_B,events", "--bootstrap", 5,
               "--out", model).exit_code == 0
    files = {name: tmp_path / f"{name}.csv" for name in ("allocation", "frontier", "plan")}
    optimized = run("optimize", model, "--periods", 13, "--out", files["allocation"],
                    "--json", tmp_path / "summary.json")
    assert run("frontier", model, "--from", 1e6, "--to", 6e6, "--steps", 6, "--periods", 13,
               "--out", files["frontier"]).exit_code == 0
    assert run("plan", model, "--periods", 6, "--start", "2019-11-18",
               "--out", files["plan"]).exit_code == 0
    report = tmp_path / "report.html"
    result = run("report", model, "--allocation", files["allocation"], "--summary",
                 tmp_path / "summary.json", "--frontier", files["frontier"], "--plan",
                 files["plan"], "--out", report)
    assert result.exit_code == 0, result.output
    assert report.stat().st_size <= 15e6
    dom, console, fetched = rendered(report, tmp_path)
    assert fetched == []
    assert [line for line in console if "error" in line.lower()] == []
    assert dom.count("js-plotly-plot") >= 6  # spend, waterfall, curves, fit, frontier, plan
    for name in ("tv", "ooh", "print", "facebook", "search"):
        assert f">{name}<" in dom or f"{name}</" in dom
    kpi = pd.read_csv(files["allocation"])["kpi"].sum()
    assert f"{kpi:,.0f}" in dom and "now →" in dom
    assert "KPI from media" in optimized.output


def test_demo_writes_a_report_and_verbs_take_report(tmp_path):
    demo = run("demo", "--out", tmp_path / "demo")
    assert demo.exit_code == 0 and (tmp_path / "demo" / "report.html").is_file()
    assert "report.html" in demo.output
    out = tmp_path / "a.csv"
    result = run("optimize", DEMO, "--periods", 13, "--out", out, "--report",
                 tmp_path / "r.html")
    assert result.exit_code == 0 and (tmp_path / "r.html").read_text().count("<h2>") >= 2
    failed = run("optimize", DEMO, "--periods", 13, "--budget", "x", "--out", out,
                 "--report", tmp_path / "never.html")
    assert failed.exit_code == 1 and not (tmp_path / "never.html").exists()


def test_the_report_verb_reads_the_horizon_from_the_allocation(tmp_path):
    out = tmp_path / "a.csv"
    assert run("optimize", DEMO, "--periods", 13, "--out", out).exit_code == 0
    model = read_model(DEMO)
    inputs = read_report_inputs(model, allocation=out)
    assert inputs.periods == 13
    tv = curve_panels(inputs)[model.names.index("tv")]
    assert tv.recommended == pytest.approx(pd.read_csv(out).set_index("channel")
                                           .loc["tv", "spend"] / 13)
