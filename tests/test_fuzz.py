"""Fuzzing the command line with mutated input files (bounded and seeded).

Every mutation either runs (exit 0) or fails cleanly: exit 1 or 2, no traceback, no "internal
error", a message naming the file, and the output file left exactly as it was.
"""

import json
import random
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgetopt.cli.main import cli
from click.testing import CliRunner

pytestmark = [pytest.mark.cli, pytest.mark.slow]

MODEL = {"format": "budgetopt-model/1", "kpi": {"name": "revenue", "type": "revenue"},
         "period": "week", "baseline": 1000.0, "channels": [
             {"name": "tv", "curve": {"type": "hill", "beta": 9000.0, "k": 2500.0, "s": 1.4},
              "adstock": {"type": "geometric", "decay": 0.5, "normalized": False},
              "current_spend": 800.0, "carry_in": 100.0},
             {"name": "search", "curve": {"type": "exponential", "beta": 3000.0, "k": 600.0},
              "current_spend": 400.0}]}
CURVES = "channel,type,beta,k,s,decay,current_spend\ntv,hill,9000,2500,1.4,0.5,800\n" \
         "search,log,3000,600,,,400\n"
CONSTRAINTS = ('budget = 20000\n[channels.tv]\nmin = 1000\nmax = 15000\n'
               '[channels.search]\nmin_if_on = 500\n[[groups]]\nname = "all"\n'
               'channels = ["tv"]\nmax_share = 0.9\n')
SCENARIO = ('model = "model.json"\n[base]\nbudget = 10000\n[[case]]\nname = "more"\n'
            'budget = 12000\nchannels.tv.max = 8000\n')
WEIRD = ["", "-", "nan", "inf", "-1", "1e308", "1e-320", "0", "abc", "=cmd", "\ufeff", "true",
         "[", "{", "\"", "9" * 30, "-0", "0x10", "1,5", "💥"]
SENTINEL = "existing output\n"
BUDGET_SECONDS = 50


def history_text() -> str:
    rng = np.random.default_rng(0)
    weeks = 40
    frame = pd.DataFrame({"date": pd.date_range("2022-01-03", periods=weeks, freq="7D")
                          .strftime("%Y-%m-%d"),
                          "revenue": (1000 + rng.normal(0, 50, weeks)).round(2),
                          "tv": rng.uniform(0, 100, weeks).round(2),
                          "search": rng.uniform(0, 50, weeks).round(2)})
    return frame.to_csv(index=False)


def mutate_text(text: str, rng: random.Random) -> str:
    """Byte-level and token-level damage of a text file."""
    kind = rng.randrange(6)
    if kind == 0 and text:  # flip a character
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(WEIRD + list("{}[],:=\"'\n")) + text[i + 1:]
    if kind == 1:  # truncate
        return text[:rng.randrange(len(text) + 1)]
    if kind == 2:  # replace a number by something odd
        numbers = list(re.finditer(r"-?\d+(\.\d+)?(e-?\d+)?", text))
        if numbers:
            m = rng.choice(numbers)
            return text[:m.start()] + rng.choice(WEIRD) + text[m.end():]
    if kind == 3:  # duplicate a line
        lines = text.splitlines(keepends=True)
        if lines:
            i = rng.randrange(len(lines))
            return "".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])
    if kind == 4:  # delete a line
        lines = text.splitlines(keepends=True)
        if lines:
            del lines[rng.randrange(len(lines))]
            return "".join(lines)
    return "\ufeff" + text if rng.random() < 0.5 else text.replace(",", ";", 1)


def mutate_model(rng: random.Random) -> str:
    """Structure-aware damage of the model JSON."""
    model = json.loads(json.dumps(MODEL))
    channel = rng.choice(model["channels"])
    target = rng.choice([model, channel, channel["curve"], channel.get("adstock", channel)])
    key = rng.choice(list(target))
    action = rng.randrange(4)
    if action == 0:
        del target[key]
    elif action == 1:
        target[key] = rng.choice([None, -1, 0, 1e308, 1e-320, "x", [], {}, True, 10**20])
    elif action == 2:
        model["channels"].append(json.loads(json.dumps(channel)))
    else:
        return mutate_text(json.dumps(model), rng)
    return json.dumps(model)


CASES = {  # kind: (file name, base content maker, verb arguments)
    "model": ("model.json", lambda rng: mutate_model(rng),
              ["optimize", "{file}", "--budget", "20000", "--out", "{out}"]),
    "curves": ("curves.csv", lambda rng: mutate_text(CURVES, rng),
               ["optimize", "{file}", "--budget", "20000", "--out", "{out}"]),
    "constraints": ("rules.toml", lambda rng: mutate_text(CONSTRAINTS, rng),
                    ["optimize", "{model}", "--constraints", "{file}", "--out", "{out}"]),
    "plan": ("rules.toml", lambda rng: mutate_text(CONSTRAINTS + "[[pacing]]\nperiods = [1, 2]"
                                                   "\nmin_share = 0.2\n", rng),
             ["plan", "{model}", "--periods", "4", "--constraints", "{file}", "--out", "{out}"]),
    "scenario": ("quarter.toml", lambda rng: mutate_text(SCENARIO, rng),
                 ["scenarios", "{file}", "--workers", "1", "--out", "{folder}"]),
    "history": ("history.csv", lambda rng: mutate_text(history_text(), rng),
                ["fit", "{file}", "--date", "date", "--kpi", "revenue", "--channels",
                 "tv,search", "--bootstrap", "0", "--out", "{out}"]),
}
ROUNDS = {"model": 200, "curves": 100, "constraints": 120, "plan": 40, "scenario": 80,
          "history": 60}


def run_case(tmp: Path, kind: str, rng: random.Random):
    name, make, template = CASES[kind]
    (tmp / "model.json").write_text(json.dumps(MODEL))
    file = tmp / name
    content = make(rng)
    file.write_text(content, encoding="utf-8")
    out = tmp / "out.csv"
    out.write_text(SENTINEL)
    folder = tmp / "results"
    args = [a.format(file=file, model=tmp / "model.json", out=out, folder=folder)
            for a in template]
    result = CliRunner().invoke(cli, args)
    where = f"{kind} mutation {content[:200]!r}"
    assert result.exit_code in (0, 1, 2), where + result.output
    assert "Traceback" not in result.output + result.stderr, where
    assert "internal error" not in result.stderr, where + result.stderr
    if result.exit_code != 0:
        assert result.stderr.strip(), where
        assert out.read_text() == SENTINEL, where
        assert not (folder / "summary.csv").exists(), where
        if result.exit_code == 1:
            named = [name, "model.json", "--", "case", "channel", "line", "group", "budget",
                     "pacing", "rule"]
            assert any(word in result.stderr for word in named), where + result.stderr
    return result.exit_code


def test_mutated_inputs_fail_cleanly(tmp_path):
    rng = random.Random(20261201)
    started = time.perf_counter()
    codes = []
    for kind, rounds in ROUNDS.items():
        for number in range(rounds):
            case_dir = tmp_path / f"{kind}{number}"
            case_dir.mkdir()
            codes.append(run_case(case_dir, kind, rng))
            assert time.perf_counter() - started < BUDGET_SECONDS * 2, "fuzzing overran"
    assert codes.count(1) > len(codes) / 4  # the mutations do break most files

