"""History CSV loading: every problem is named by file, line and column."""

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.history.loaders import load_long_history, load_wide_history


def wide_csv(tmp_path, rows=30, edit=None):
    dates = pd.date_range("2024-01-01", periods=rows, freq="7D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"date": dates, "revenue": np.arange(rows) + 100.0,
                          "tv_S": np.arange(rows) * 10.0, "search_S": 5.0,
                          "events": ["na"] * (rows - 2) + ["event1", "event2"]}).astype(str)
    if edit:
        frame = edit(frame)
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return path


def load(path, **kw):
    return load_wide_history(path, date="date", kpi="revenue",
                             channels={"tv": "tv_S", "search": "search_S"}, **kw)


def test_wide_history_loads_with_renamed_channels_and_event_dummies(tmp_path):
    history = load(wide_csv(tmp_path), controls=("events",))
    assert history.channels == ["tv", "search"]
    assert list(history.controls.columns) == ["events=event1", "events=event2"]
    assert history.kpi[0] == 100.0 and len(history) == 30


def test_rows_are_put_in_date_order(tmp_path):
    path = wide_csv(tmp_path, edit=lambda f: f.iloc[::-1])
    history = load(path)
    assert history.dates.is_monotonic_increasing
    assert history.kpi[0] == 100.0


def set_cell(row, column, value):
    def edit(frame):
        frame.loc[row, column] = value
        return frame
    return edit


@pytest.mark.parametrize("edit,message", [
    (set_cell(3, "tv_S", "abc"), "line 5, column 'tv_S': 'abc' is not a number"),
    (set_cell(4, "tv_S", ""), "line 6, column 'tv_S': empty cell"),
    (set_cell(5, "search_S", "-3"), "line 7, column 'search_S': negative value -3"),
    (set_cell(2, "date", "yesterday"), "line 4, column 'date': 'yesterday' is not a date"),
    (set_cell(2, "date", "2024-01-01"), "line 4, column 'date': date 2024-01-01 appears twice"),
], ids=["text", "empty", "negative", "bad-date", "duplicate-date"])
def test_bad_cells_are_located(tmp_path, edit, message):
    with pytest.raises(InputError) as caught:
        load(wide_csv(tmp_path, edit=edit))
    assert message in str(caught.value)
    assert "history.csv" in str(caught.value)


def test_several_problems_are_reported_together(tmp_path):
    def edit(frame):
        frame.loc[1, "tv_S"] = "x"
        frame.loc[2, "revenue"] = ""
        return frame
    with pytest.raises(InputError) as caught:
        load(wide_csv(tmp_path, edit=edit))
    text = str(caught.value)
    assert "line 3, column 'tv_S'" in text and "line 4, column 'revenue'" in text


def test_missing_column_suggests_a_close_name(tmp_path):
    with pytest.raises(InputError, match="no column 'tv_s'; did you mean 'tv_S'"):
        load_wide_history(wide_csv(tmp_path), date="date", kpi="revenue",
                          channels={"tv": "tv_s"})


def test_date_gap_is_reported(tmp_path):
    path = wide_csv(tmp_path, edit=lambda f: f.drop(index=10))
    with pytest.raises(InputError, match="the dates jump from 2024-03-04 to 2024-03-18"):
        load(path)


def test_too_few_periods(tmp_path):
    with pytest.raises(InputError, match="only 8 periods; fitting needs at least"):
        load(wide_csv(tmp_path, rows=8))


def test_empty_control_cell(tmp_path):
    with pytest.raises(InputError, match="line 3, column 'events': empty cell in a control"):
        load(wide_csv(tmp_path, edit=set_cell(1, "events", "")), controls=("events",))


def long_csv(tmp_path, body_edit=None):
    dates = pd.date_range("2024-01-01", periods=20, freq="7D").strftime("%Y-%m-%d")
    rows = [(d, c, 10.0 + i, 20.0 + i) for i, d in enumerate(dates) for c in ("tv", "search")]
    frame = pd.DataFrame(rows, columns=["date", "channel", "spend", "kpi"])
    if body_edit:
        frame = body_edit(frame)
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    return path


def test_long_history_pivots_per_channel(tmp_path):
    history = load_long_history(long_csv(tmp_path), channels={"TV": "tv"})
    assert history.channels == ["TV"]
    assert history.channel_kpi["TV"].iloc[0] == 20.0 and len(history) == 20


def test_long_history_duplicate_rows(tmp_path):
    path = long_csv(tmp_path, lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True))
    with pytest.raises(InputError, match="line 42: search on 2024-01-08 appears again"):
        load_long_history(path)


def test_long_history_missing_row(tmp_path):
    path = long_csv(tmp_path, lambda f: f.drop(index=5))
    with pytest.raises(InputError, match="channel 'search' has no row for 2024-01-15"):
        load_long_history(path)


def test_long_history_unknown_channel(tmp_path):
    with pytest.raises(InputError, match="has no rows for channel\\(s\\) radio"):
        load_long_history(long_csv(tmp_path), channels={"radio": "radio"})


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such history file"):
        load_long_history(tmp_path / "none.csv")


def test_holiday_calendar_counts_holiday_days_per_period(tmp_path):
    from budgetopt.optimizer.history.loaders import with_holidays

    calendar = tmp_path / "holidays.csv"
    calendar.write_text("ds,holiday,country\n2024-01-01,New Year,DE\n2024-01-03,Other,DE\n"
                        "2024-01-09,Elsewhere,FR\n2024-03-31,Easter,DE\n")
    history = with_holidays(load(wide_csv(tmp_path)), calendar, country="DE")
    counts = history.controls["holidays"].to_numpy()
    assert counts[0] == 2 and counts[1] == 0 and counts.sum() == 3
    assert with_holidays(load(wide_csv(tmp_path)), calendar).controls["holidays"][1] == 1
    with pytest.raises(InputError, match="no holidays for country 'IT'"):
        with_holidays(load(wide_csv(tmp_path)), calendar, country="IT")
