"""Tables and dates as analysts have them: CSV with any separator and decimal mark, or Excel.

A separator, a decimal comma and day-first dates are recognised when the file leaves no doubt;
when it does, the error names the option that settles it (``sep``, ``decimal``,
``date_format``). Every verb parses dates here, so "03/01/2027" means the same everywhere.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.settings import DATE_RANGE

__all__ = ["TableFormat", "read_table", "parse_dates", "parse_date", "EXCEL_SUFFIXES"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SEPARATORS = (",", ";", "\t", "|")
ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
POINT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
SNIFF_LINES = 50


@dataclass(frozen=True)
class TableFormat:
    """How a history file is written; None means "recognise it from the file".

    ``sep``: the CSV separator; ``decimal``: "." or ","; ``date_format``: strftime codes such
    as "%d/%m/%Y"; ``sheet``: the Excel sheet (the first when None).
    """

    sep: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    sheet: str | None = None


def read_table(path, table_format: TableFormat = TableFormat(), kind: str = "history"
               ) -> pd.DataFrame:
    """The file's cells as stripped text, numbers in "." notation, columns named."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {kind} file.")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        frame = _read_excel(path, table_format.sheet)
    else:
        frame = _read_csv(path, table_format.sep or _separator(path))
    frame.columns = [str(column).strip().lstrip("\ufeff") for column in frame.columns]
    if frame.empty:
        raise InputError(f"{path}: no data rows below the header.")
    frame = frame.apply(lambda column: column.str.strip())
    return _with_point_decimals(frame, path, table_format.decimal)


def _read_excel(path: Path, sheet: str | None) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object)
    except ValueError as error:  # an unknown sheet or a file that is not a workbook
        raise InputError(f"{path}: cannot read the workbook ({error}); name the sheet with "
                         f"--sheet.") from None
    except Exception as error:  # openpyxl raises many kinds on damaged files
        raise InputError(f"{path}: not a readable Excel workbook ({error}).") from None
    return frame.map(_cell_text)


def _cell_text(value) -> str:
    """An Excel cell as text: dates as YYYY-MM-DD, whole numbers without ".0"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp) or hasattr(value, "strftime"):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_csv(path: Path, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                           skipinitialspace=True, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable CSV file ({error}).") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; expected a header row and data.") from None


def _separator(path: Path) -> str:
    """The separator that splits the first lines into the same number of fields (> 1)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = [line for _, line in zip(range(SNIFF_LINES), handle) if line.strip()]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file; expected a CSV.") from None
    fits = []
    for sep in SEPARATORS:
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1 and counts.pop() > 1:
            fits.append(sep)
    if len(fits) > 1 and "," in fits and ";" in fits:
        raise InputError(f"{path}: both ',' and ';' split every line evenly; say which "
                         f"separates the columns with --sep.")
    return fits[0] if fits else ","


def _with_point_decimals(frame: pd.DataFrame, path: Path, decimal: str | None) -> pd.DataFrame:
    """Numbers written with a decimal comma ("1.234,56") rewritten as "1234.56"."""
    if decimal == ".":
        return frame
    cells = frame.stack()
    comma = cells.str.match(COMMA_DECIMAL)
    if decimal is None:
        point = cells.str.match(POINT_DECIMAL)
        if not comma.any():
            return frame
        if point.any():
            raise InputError(f"{path}: numbers are written both as 1.5 and as 1,5; say which "
                             f"mark is the decimal one with --decimal.")
    converted = frame.copy()
    for column in frame.columns:
        values = frame[column]
        mask = values.str.match(COMMA_DECIMAL)
        if mask.any():
            converted[column] = values.where(~mask, values.str.replace(".", "", regex=False)
                                             .str.replace(",", ".", regex=False))
    return converted


def parse_dates(raw: pd.Series, date_format: str | None = None, where: str = "the dates"
                ) -> pd.Series:
    """Dates of a column (NaT where a cell is not a date in the plausible range).

    ISO dates are read as they are; numeric day/month dates are read day-first or month-first
    as the cells show (a field above 12), or as the one reading that gives evenly spaced
    periods; otherwise the error asks for ``date_format``.
    """
    if date_format is not None:
        dates = pd.to_datetime(raw, format=date_format, errors="coerce")
    else:
        text = raw[raw != ""]
        numeric = text.str.match(NUMERIC_DATE)
        if len(text) and numeric.all():
            dates = pd.to_datetime(raw, format=_day_or_month_first(text, where),
                                   errors="coerce")
        else:
            dates = pd.to_datetime(raw.where(~raw.str.match(r"^-?\d+$"), ""), errors="coerce",
                                   format="mixed")
    first, last = (pd.Timestamp(day) for day in DATE_RANGE)
    return dates.where((dates >= first) & (dates <= last))


def _day_or_month_first(text: pd.Series, where: str) -> str:
    parts = text.str.extract(NUMERIC_DATE)
    first, second = parts[0].astype(int), parts[1].astype(int)
    separator = re.sub(r"\d", "", text.iloc[0])[:1]
    year = "%Y" if len(parts[2].iloc[0]) == 4 else "%y"
    day_first, month_first = f"%d{separator}%m{separator}{year}", \
        f"%m{separator}%d{separator}{year}"
    if (first > 12).any() and (second > 12).any():
        raise ParameterError("date_format", f"is needed: {where} fit neither day/month nor "
                                            f"month/day; give the format, e.g. %d/%m/%Y")
    if (first > 12).any():
        return day_first
    if (second > 12).any():
        return month_first
    regular = [fmt for fmt in (day_first, month_first)
               if pd.Series(pd.to_datetime(text, format=fmt, errors="coerce")).diff().dropna()
               .nunique() == 1]
    if len(regular) == 1:
        return regular[0]
    raise ParameterError("date_format", f"is needed: {where} (such as {text.iloc[0]!r}) read "
                                        f"as day/month and as month/day; give %d/%m/%Y or "
                                        f"%m/%d/%Y")


def parse_date(text: str, parameter: str = "start") -> pd.Timestamp:
    """One date given by a person: ISO, or day/month when a field shows it (never a guess)."""
    value = str(text).strip()
    match = NUMERIC_DATE.match(value)
    if ISO_DATE.match(value):
        date = pd.to_datetime(value, errors="coerce")
    elif match and (int(match.group(1)) > 12 or int(match.group(2)) > 12):
        date = pd.to_datetime(pd.Series([value]), format=_day_or_month_first(
            pd.Series([value]), repr(value)), errors="coerce").iloc[0]
    elif match:
        raise ParameterError(parameter, f"{value!r} reads as day/month and as month/day; "
                                        f"write it as YYYY-MM-DD.")
    else:
        date = pd.NaT
    if pd.isna(date):
        raise ParameterError(parameter, f"{value!r} is not a date (use YYYY-MM-DD).")
    return pd.Timestamp(date)
