"""Defects found by fuzzing and fault injection (issue 12), each pinned through the CLI."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run

pytestmark = pytest.mark.cli
DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"

S_CURVES = {"format": "budgetopt-model/1", "kpi": {"name": "revenue", "type": "revenue"},
            "period": "week", "channels": [
                {"name": "tv_spend", "curve": {"type": "hill", "beta": 51712.653181,
                                               "k": 32802.46555, "s": 0.809093},
                 "adstock": {"type": "geometric", "decay": 0.404556, "normalized": False},
                 "current_spend": 35853.73},
                {"name": "search_spend", "curve": {"type": "hill", "beta": 293356.195956,
                                                   "k": 278343.785473, "s": 3.483481},
                 "adstock": {"type": "geometric", "decay": 0.396494, "normalized": False},
                 "current_spend": 55933.61},
                {"name": "social_spend", "curve": {"type": "hill", "beta": 47067.601477,
                                                   "k": 21602.887728, "s": 1.010057},
                 "adstock": {"type": "geometric", "decay": 0.375366, "normalized": False},
                 "current_spend": 18370.88},
                {"name": "display_spend", "curve": {"type": "hill", "beta": 55073.707693,
                                                    "k": 22806.044804, "s": 1.6307},
                 "adstock": {"type": "geometric", "decay": 0.34914, "normalized": False},
                 "current_spend": 4912.52},
                {"name": "radio_spend", "curve": {"type": "hill", "beta": 149493.59337,
                                                  "k": 54682.281047, "s": 1.80869},
                 "adstock": {"type": "geometric", "decay": 0.348253, "normalized": False},
                 "current_spend": 21928.59}]}
S_BOUNDS = {"tv_spend": (13780.95, 41342.85), "search_spend": (39500.12, 118500.35),
            "social_spend": (8100.83, 24302.48), "display_spend": (3774.69, 11324.08),
            "radio_spend": (13708.36, 41125.07)}
TWO = {"format": "budgetopt-model/1", "channels": [
    {"name": "a", "curve": {"type": "exponential", "beta": 1000, "k": 1000}, "current_spend": 10},
    {"name": "b", "curve": {"type": "exponential", "beta": 1000, "k": 1000},
     "current_spend": 10}]}


def write(path: Path, content) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def failed_cleanly(result, *names):
    """Exit 1, one message on stderr naming each of ``names``, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output + result.stderr
    assert "internal error" not in result.stderr
    for name in names:
        assert name in result.stderr, result.stderr
    return True


# --- 1. solvable problems called infeasible -------------------------------------------------
def test_s_curves_with_bounds_only_are_solved(tmp_path):
    rules = "".join(f'[channels."{n}"]\nmin = {low}\nmax = {high}\n'
                    for n, (low, high) in S_BOUNDS.items())
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", S_CURVES), "--budget", 157729.89,
                 "--constraints", write(tmp_path / "c.toml", rules), "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert frame["spend"].sum() == pytest.approx(157729.89)
    for name, (low, high) in S_BOUNDS.items():
        spend = frame.set_index("channel").loc[name, "spend"]
        assert low - 1e-6 <= spend <= high + 1e-6
    assert "status: optimal" in result.output


def test_target_roi_finds_small_spends(tmp_path):
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 1_000_000,
                 "--target-roi", 0.9, "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    spend, kpi = frame["spend"].sum(), frame["kpi"].sum()
    assert kpi / spend >= 0.9 * (1 - 1e-4)  # the CSV's amounts are to the cent
    # the most spend keeping ROI 0.9: two equal channels, 2000 (1 - e^(-x/2000)) = 0.9 x
    x = np.linspace(1, 2000, 200001)
    best = x[2000 * (1 - np.exp(-x / 2000)) >= 0.9 * x].max()
    assert spend == pytest.approx(best, rel=1e-3)


def test_target_kpi_searches_below_an_infeasible_ceiling(tmp_path):
    rules = '[[groups]]\nname = "g"\nchannels = ["a"]\nmin_share = 0.5\nmax = 100\n'
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 1000,
                 "--target-kpi", 50, "--constraints", write(tmp_path / "g.toml", rules),
                 "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out).set_index("channel")
    assert frame["kpi"].sum() >= 50 * (1 - 1e-9)
    assert frame.loc["a", "spend"] <= 100 + 1e-6
    assert frame.loc["a", "spend"] >= 0.5 * frame["spend"].sum() - 1e-6


def test_commitment_above_the_maximum_switches_the_channel_off(tmp_path):
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 50, "--constraints",
                 write(tmp_path / "c.toml", "[channels.a]\nmin_if_on = 5000\nmax = 100\n"),
                 "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out).set_index("channel")
    assert frame.loc["a", "spend"] == 0 and frame.loc["b", "spend"] == pytest.approx(50)


# --- 2. outputs that are not regular files ---------------------------------------------------
def test_a_character_device_is_written_to_not_replaced(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 100, "--out", device)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(device.stat().st_mode)


def test_a_symlink_is_written_through_and_new_files_follow_the_umask(tmp_path):
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    link.symlink_to(target)
    previous = os.umask(0o022)
    try:
        result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 100,
                     "--out", link)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


# --- 3. Ctrl-C -------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigint_stops_a_fit_quickly_and_writes_nothing(tmp_path):
    out = tmp_path / "model.json"
    command = [sys.executable, "-m", "budgetopt", "fit", DATA / "robyn_dt_simulated_weekly.csv",
               "--date", "DATE", "--kpi", "revenue", "--bootstrap", "200",
               "--channels", "tv_S,ooh_S,print_S,facebook_S,search_S", "--out", out]
    process = subprocess.Popen([str(c) for c in command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    time.sleep(4)  # well inside the fit (it takes several seconds)
    assert process.poll() is None
    os.killpg(process.pid, signal.SIGINT)
    sent = time.perf_counter()
    _, stderr = process.communicate(timeout=30)
    assert time.perf_counter() - sent < 3.0
    assert process.returncode == 1
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not out.exists()


# --- 4. a failed run leaves none of its outputs ----------------------------------------------
def test_a_failing_second_output_leaves_the_first_untouched(tmp_path):
    out = write(tmp_path / "a.csv", "old\n")
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 100, "--out", out,
                 "--json", tmp_path / "missing" / "file" / "\0x.json")
    assert result.exit_code != 0
    assert out.read_text() == "old\n"
    fresh = tmp_path / "fresh.csv"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    result = run("optimize", tmp_path / "m.json", "--budget", 100, "--out", fresh,
                 "--json", blocked / "x.json")
    assert failed_cleanly(result, "x.json")
    assert not fresh.exists()


def test_the_same_file_for_two_outputs_is_refused(tmp_path):
    out = tmp_path / "x.csv"
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 100, "--out", out,
                 "--json", out)
    assert failed_cleanly(result, "x.csv", "two outputs")
    assert not out.exists()


def test_a_full_disk_during_scenarios_leaves_no_file(tmp_path, monkeypatch):
    write(tmp_path / "m.json", TWO)
    scenario = write(tmp_path / "s.toml", 'model = "m.json"\n[base]\nbudget = 100\n'
                                          '[[case]]\nname = "more"\nbudget = 200\n')
    original = pd.DataFrame.to_csv
    calls = []

    def full_disk(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 1:
            raise OSError(28, "No space left on device", str(path))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    result = run("scenarios", scenario, "--workers", 1, "--out", tmp_path / "results")
    assert failed_cleanly(result, "No space left on device")
    assert not (tmp_path / "results").exists()


# --- 5. formula injection --------------------------------------------------------------------
def test_text_cells_that_look_like_formulas_are_escaped(tmp_path):
    model = json.loads(json.dumps(TWO))
    model["channels"][0]["name"] = "=HYPERLINK(1)"
    model["channels"][1]["name"] = "@sum"
    out = tmp_path / "a.csv"
    assert run("optimize", write(tmp_path / "m.json", model), "--budget", 100,
               "--out", out).exit_code == 0
    assert set(pd.read_csv(out)["channel"]) == {"'=HYPERLINK(1)", "'@sum"}
    write(tmp_path / "two.json", TWO)
    scenario = write(tmp_path / "s.toml", 'model = "two.json"\n[base]\nbudget = 100\n'
                                          '[[case]]\nname = "-20% budget"\nbudget = 80\n'
                                          '[[case]]\nname = "+fx"\nbudget = 90\n')
    assert run("scenarios", scenario, "--workers", 1, "--out", tmp_path / "r").exit_code == 0
    names = pd.read_csv(tmp_path / "r" / "summary.csv")["scenario"]
    assert list(names) == ["base", "'-20% budget", "'+fx"]


# --- 6. sizes that cannot finish -------------------------------------------------------------
@pytest.mark.parametrize("args,message", [
    (["frontier", "--from", 0, "--to", 1000, "--steps", 10_000_000], "--steps must be from 2"),
    (["plan", "--budget", 100, "--periods", 1_000_000], "--periods must be from 1 to 520"),
    (["optimize", "--budget", 100, "--periods", 10**12], "--periods must be a whole number"),
])
def test_sizes_that_cannot_finish_are_refused_with_the_limit(tmp_path, args, message):
    out = tmp_path / "x.csv"
    result = run(args[0], write(tmp_path / "m.json", TWO), *args[1:], "--out", out)
    assert failed_cleanly(result, message)
    assert not out.exists()


# --- 7 and 8. messages that name the culprit; nonsense refused -------------------------------
def nested(depth):
    return "[" * depth + "]" * depth


def channel(**changes):
    model = json.loads(json.dumps(TWO))
    model["channels"][0]["curve"].update(changes.pop("curve", {}))
    model["channels"][0].update(changes)
    return model


@pytest.mark.parametrize("content,names", [
    ('{"format": "budgetopt-model/1", "channels": ' + nested(100_000) + "}", ["nested"]),
    (channel(curve={"k": 1e-320}), ["channel 'a'", "k = 9.99989e-321"]),
    (channel(curve={"type": "hill", "s": 1e308}), ["channel 'a'", "s = 1e+308"]),
    (channel(curve={"beta": 1e308}), ["channel 'a'", "beta = 1e+308"]),
    (channel(carry_in=-5), ["channel 'a'", "carry_in"]),
    ('{"format": "budgetopt-model/1", "format": "x", "channels": []}', ["'format'", "twice"]),
])
def test_bad_models_name_the_culprit(tmp_path, content, names):
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", content), "--budget", 100, "--out", out)
    assert failed_cleanly(result, "m.json", *names)
    assert not out.exists()


def test_a_text_target_in_a_scenario_is_named(tmp_path):
    write(tmp_path / "m.json", TWO)
    scenario = write(tmp_path / "s.toml", 'model = "m.json"\n[base]\nbudget = 100\n'
                                          'objective = "target_roi"\ntarget = "high"\n')
    result = run("scenarios", scenario, "--out", tmp_path / "r")
    assert failed_cleanly(result, "[base]", "target_roi needs a target > 0")


@pytest.mark.parametrize("budget_line", ["budget = 100000000000000000000", "budget = 1e20"])
def test_budgets_beyond_floating_point_cents_are_refused(tmp_path, budget_line):
    result = run("optimize", write(tmp_path / "m.json", TWO), "--constraints",
                 write(tmp_path / "c.toml", budget_line + "\n"), "--out", tmp_path / "a.csv")
    assert failed_cleanly(result, "c.toml", "budget must be a number from 0 to 1e+15")
    result = run("optimize", tmp_path / "m.json", "--budget", 1e20, "--out", tmp_path / "a.csv")
    assert failed_cleanly(result, "--budget must be a number from 0 to 1e+15")


def history(tmp_path, **cells):
    frame = pd.DataFrame({"date": pd.date_range("2022-01-03", periods=60, freq="7D")
                          .strftime("%Y-%m-%d"),
                          "revenue": np.linspace(1000, 2000, 60), "tv": 100.0, "search": 50.0})
    frame.loc[:29, "tv"] = 0.0
    for column, (row, value) in cells.items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("cells,names", [
    ({"revenue": (5, "1e308")}, ["line 7", "column 'revenue'", "larger than"]),
    ({"date": (3, "-0")}, ["line 5", "column 'date'", "not a date"]),
])
def test_bad_history_cells_are_named(tmp_path, cells, names):
    out = tmp_path / "m.json"
    result = run("fit", history(tmp_path, **cells), "--date", "date", "--kpi", "revenue",
                 "--channels", "tv,search", "--bootstrap", 0, "--out", out)
    assert failed_cleanly(result, "history.csv", *names)
    assert not out.exists()


def test_an_unwritable_output_is_named(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    result = run("optimize", write(tmp_path / "m.json", TWO), "--budget", 100,
                 "--out", blocked / "a.csv")
    assert failed_cleanly(result, "a.csv", "cannot write")


# --- 9. byte-order marks ---------------------------------------------------------------------
def test_a_byte_order_mark_is_accepted_in_models_and_toml(tmp_path):
    model = tmp_path / "m.json"
    model.write_bytes(b"\xef\xbb\xbf" + json.dumps(TWO).encode())
    rules = tmp_path / "c.toml"
    rules.write_bytes(b"\xef\xbb\xbf[channels.a]\nmax = 30\n")
    out = tmp_path / "a.csv"
    result = run("optimize", model, "--budget", 100, "--constraints", rules, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out).set_index("channel").loc["a", "spend"] <= 30 + 1e-6


# --- 10. a profit problem whose best plan is to spend nothing --------------------------------
def test_profit_whose_best_plan_is_zero_is_optimal_at_zero(tmp_path):
    model = {"format": "budgetopt-model/1", "channels": [
        {"name": "a", "curve": {"type": "log", "beta": 231.19, "k": 55.56}},
        {"name": "b", "curve": {"type": "exponential", "beta": 54.0, "k": 157.6}}]}
    rules = ('[channels.b]\nmax = 206.6\nmin_if_on = 78.3\n'
             '[[groups]]\nname = "g"\nchannels = ["a"]\nmax = 112.2\n')
    out = tmp_path / "a.csv"
    result = run("optimize", write(tmp_path / "m.json", model), "--budget", 265.95,
                 "--objective", "profit", "--kpi-value", 0.0119, "--constraints",
                 write(tmp_path / "c.toml", rules), "--out", out, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status"] == "optimal" and summary["spend"] == 0
