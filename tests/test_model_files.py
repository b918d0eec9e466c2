"""Model JSON and curves CSV: round trip and every kind of bad input."""

import json

import numpy as np
import pytest
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.model.files import read_model, write_model

GOOD = {
    "format": "budgetopt-model/1",
    "kpi": {"name": "revenue", "type": "revenue"},
    "period": "week",
    "baseline": 120000.0,
    "channels": [
        {"name": "tv", "curve": {"type": "hill", "beta": 900000.0, "k": 250000.0, "s": 1.4},
         "adstock": {"type": "geometric", "decay": 0.55, "normalized": False},
         "current_spend": 80000.0},
        {"name": "search", "curve": {"type": "log", "beta": 5000.0, "k": 1000.0}},
    ],
    "fit": {"r2": 0.9, "mape": 0.05},
    "seasonality": {"kept": "as is"},
}


def write(tmp_path, data, name="model.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_round_trip_keeps_everything_including_unknown_keys(tmp_path):
    model = read_model(write(tmp_path, GOOD))
    write_model(model, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == GOOD


def test_steady_state_curve_uses_the_adstock_multiplier(tmp_path):
    model = read_model(write(tmp_path, GOOD))
    steady = model.steady_state_curves()
    x = np.array([80000.0, 500.0])
    expected_tv = 900000.0 * (x[0] / 0.45) ** 1.4 / ((x[0] / 0.45) ** 1.4 + 250000.0 ** 1.4)
    assert steady.value(x)[0] == pytest.approx(expected_tv)
    assert steady.value(x)[1] == pytest.approx(5000 * np.log1p(500 / 1000))


DELAYED = {"name": "video", "curve": {"type": "hill", "beta": 400000.0, "k": 90000.0, "s": 2.0},
           "adstock": {"type": "delayed", "decay": 0.6, "peak": 2.0, "normalized": False,
                       "recent_spend": [float(v) for v in range(1000, 13000, 1000)]}}


def test_delayed_adstock_round_trips_and_scales_by_its_kernel(tmp_path):
    data = dict(GOOD, channels=[*GOOD["channels"], DELAYED])
    model = read_model(write(tmp_path, data))
    write_model(model, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == data
    weights = 0.6 ** ((np.arange(13) - 2.0) ** 2)  # the delayed kernel, written out
    x = 30000.0
    level = x * weights.sum()
    expected = 400000.0 * level ** 2 / (level ** 2 + 90000.0 ** 2)
    assert model.steady_state_curves().value(np.array([0.0, 0.0, x]))[2] == pytest.approx(expected)
    assert list(model.recent_spend[2]) == DELAYED["adstock"]["recent_spend"]


def channel(**changes):
    entry = json.loads(json.dumps(GOOD["channels"][0]))
    for key, value in changes.items():
        target = entry
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return entry


def test_draws_of_their_own_family_round_trip_and_a_bad_one_is_named(tmp_path):
    draws = [[{"type": "exponential", "beta": 8e5, "k": 2e5, "decay": 0.5},
              {"type": "log", "beta": 5000.0, "k": 900.0}],
             [{"type": "hill", "beta": 9e5, "k": 2.4e5, "s": 1.2, "decay": 0.6},
              {"type": "log", "beta": 5200.0, "k": 1100.0}]]
    model = read_model(write(tmp_path, dict(GOOD, bootstrap={"draws": draws})))
    first, second = model.draw_models()
    assert first.curves.family_names == ["exponential", "log"]
    assert second.curves.family_names == ["hill", "log"]
    assert first.curves.value(np.array([1e5, 0.0]))[0] == pytest.approx(8e5 * (1 - np.exp(-0.5)))
    write_model(model, tmp_path / "again.json")
    again = read_model(tmp_path / "again.json")
    np.testing.assert_array_equal(again.draws.family, model.draws.family)
    draws[1][0]["type"] = "weibull"
    with pytest.raises(InputError, match=r"bootstrap.draws\[1\]\[0\] has type 'weibull'; "
                                         r"use one of hill"):
        read_model(write(tmp_path, dict(GOOD, bootstrap={"draws": draws})))
    del draws[1][0]["type"]
    with pytest.raises(InputError, match="for some channels and not for others"):
        read_model(write(tmp_path, dict(GOOD, bootstrap={"draws": draws})))


@pytest.mark.parametrize("entry,message", [
    (channel(**{"curve.type": "hil"}),
     "channel 'tv': unknown curve type 'hil'; did you mean 'hill'?"),
    (channel(**{"curve.beta": -1.0}), "channel 'tv': beta must be > 0, got -1"),
    (channel(**{"curve.k": 0.0}), "channel 'tv': k must be > 0, got 0"),
    (channel(**{"curve.s": -2.0}), "channel 'tv': s must be > 0, got -2"),
    (channel(**{"curve.s": None}), "channel 'tv': missing s"),
    (channel(**{"curve.beta": "big"}), "channel 'tv': beta must be a number, got \"'big'\""),
    (channel(**{"adstock.decay": 1.0}), "channel 'tv': adstock decay must be in [0, 1), got 1"),
    (channel(**{"adstock.decay": None}), "channel 'tv': missing key adstock.decay"),
    (channel(curve=None), "channel 'tv': missing key 'curve'"),
    (channel(name=None), "channels[0]: missing key 'name'"),
    (channel(current_spend=-5.0), "channel 'tv': current_spend must be >= 0, got -5"),
    (channel(**{"adstock.type": "weibull"}), "adstock.type must be 'geometric' or 'delayed'"),
    (channel(**{"adstock.type": "delayed"}), "channel 'tv': missing key adstock.peak"),
    (channel(**{"adstock.type": "delayed", "adstock.peak": 20.0}),
     "channel 'tv': adstock peak must be in [0, 12], got 20"),
    (channel(**{"adstock.type": "delayed", "adstock.peak": 1.0, "adstock.decay": 0.0}),
     "channel 'tv': a delayed adstock's decay must be in (0, 1)"),
    (channel(**{"adstock.type": "delayed", "adstock.peak": 1.0, "adstock.recent_spend": [-1]}),
     "adstock.recent_spend must list at most 12 spends >= 0"),
], ids=["unknown-type", "beta", "k", "s", "missing-s", "beta-text", "decay", "missing-decay",
        "no-curve", "no-name", "negative-current", "adstock-type", "missing-peak", "peak-range",
        "delayed-decay", "recent-spend"])
def test_bad_channels_are_named(tmp_path, entry, message):
    data = dict(GOOD, channels=[entry])
    with pytest.raises(InputError) as caught:
        read_model(write(tmp_path, data))
    assert message in str(caught.value)
    assert str(tmp_path / "model.json") in str(caught.value)


def test_duplicate_names_are_rejected(tmp_path):
    data = dict(GOOD, channels=[GOOD["channels"][0], GOOD["channels"][0]])
    with pytest.raises(InputError, match="duplicate channel name 'tv'"):
        read_model(write(tmp_path, data))


def test_malformed_json_names_line_and_column(tmp_path):
    with pytest.raises(InputError, match=r"line 2, column 1: not valid JSON"):
        read_model(write(tmp_path, '{"format": "budgetopt-model/1",\n]'))


@pytest.mark.parametrize("data,message", [
    (dict(GOOD, format="other/2"), "'format' must be \"budgetopt-model/1\""),
    (dict(GOOD, channels=[]), "'channels' must be a non-empty list"),
    (dict(GOOD, kpi={"type": "clicks"}), "kpi.type must be one of revenue, conversions"),
])
def test_bad_top_level(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        read_model(write(tmp_path, data))


def test_curves_csv_is_read_with_optional_columns(tmp_path):
    path = write(tmp_path, "channel,type,beta,k,s,decay,normalized,current_spend\n"
                           "tv,hill,900000,250000,1.4,0.55,false,80000\n"
                           "search,log,5000,1000,,,,\n", "curves.csv")
    model = read_model(path)
    assert model.names == ("tv", "search")
    assert model.curves.family_names == ["hill", "log"]
    assert model.decay[0] == 0.55 and np.isnan(model.decay[1])
    assert model.current_spend[0] == 80000 and np.isnan(model.current_spend[1])


@pytest.mark.parametrize("body,message", [
    ("channel,type,beta\ntv,log,1\n", "missing column(s) k"),
    ("channel,type,beta,k\ntv,log,abc,1\n",
     "line 2 (channel 'tv'): beta must be a number, got 'abc'"),
    ("channel,type,beta,k\ntv,cubic,1,1\n", "line 2 (channel 'tv'): unknown curve type 'cubic'"),
    ("channel,type,beta,k\ntv,hill,1,1\n", "line 2 (channel 'tv'): missing s"),
    ("channel,type,beta,k\ntv,log,1,1\ntv,log,1,1\n", "line 3 (channel 'tv'): duplicate channel"),
    ("channel,type,beta,k,normalized\ntv,log,1,1,maybe\n", "normalized must be true or false"),
    ("channel,type,beta,k\n", "no channels"),
])
def test_bad_curves_csv(tmp_path, body, message):
    with pytest.raises(InputError) as caught:
        read_model(write(tmp_path, body, "curves.csv"))
    assert message in str(caught.value)


def test_missing_model_file(tmp_path):
    with pytest.raises(InputError, match="no such model file"):
        read_model(tmp_path / "nope.json")
