"""Every rule of the bars contract, each broken by its own file; repairs only when asked."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    DataValidationError,
    MissingFileError,
    ParameterError,
    load_bars,
    load_csv,
    summarize_bars,
    validate_bars,
)
from tests.data_loaders.conftest import GOOD_CSV

HEADER = "Date,Open,High,Low,Close,Volume\n"
ROW1 = "2020-01-02,10,11,9,10.5,100\n"
ROW2 = "2020-01-03,10.5,11.5,10,11,0\n"


def _second_row(case: str, row: str, column: str, *rule: str) -> tuple[str, str, list[str]]:
    """A file whose second data row ``row`` breaks a rule in ``column``: the message names
    row 2, the column and ``rule`` (the value and the rule broken)."""
    return case, HEADER + ROW1 + row + "\n", ["row 2", f"column '{column}'", *rule]


# (case, file text, fragments the one-line message must hold: row, column, value and rule)
BROKEN = [
    (
        "duplicate timestamp",
        HEADER + ROW1 + ROW2 + "2020-01-03,11,12,10.5,11.5,300\n",
        [
            "row 3 (2020-01-03 00:00:00+00:00)",
            "column 'Date'",
            "repeats row 2",
            "timestamps must be unique",
        ],
    ),
    (
        "unsorted timestamps",
        HEADER + ROW2 + ROW1,
        [
            "row 2 (2020-01-02 00:00:00+00:00)",
            "column 'Date'",
            "earlier than the previous row",
            "timestamps must be increasing",
        ],
    ),
    _second_row(
        "unparseable date", "2020-13-45,10.5,11.5,10,11,0", "Date", "unparseable date '2020-13-45'"
    ),
    _second_row("missing date", ",10.5,11.5,10,11,0", "Date", "missing date"),
    _second_row(
        "NaN price",
        "2020-01-03,10.5,11.5,10,,0",
        "Close",
        "row 2 (2020-01-03 00:00:00+00:00)",
        "missing value",
        "must be finite",
    ),
    _second_row(
        "infinite price",
        "2020-01-03,10.5,inf,10,11,0",
        "High",
        "infinite value inf",
        "must be finite",
    ),
    _second_row("price <= 0", "2020-01-03,0,11.5,0,11,0", "Open", "price 0", "prices must be > 0"),
    _second_row(
        "negative price", "2020-01-03,10.5,11.5,-1,11,0", "Low", "price -1", "prices must be > 0"
    ),
    _second_row(
        "high below open/close",
        "2020-01-03,10.5,10.8,10,11,0",
        "High",
        "high 10.8 is below max(open 10.5, close 11)",
        "high >= max(open, close)",
    ),
    _second_row(
        "low above open/close",
        "2020-01-03,10.5,11.5,10.6,11,0",
        "Low",
        "low 10.6 is above min(open 10.5, close 11)",
        "low <= min(open, close)",
    ),
    _second_row(
        "negative volume",
        "2020-01-03,10.5,11.5,10,11,-5",
        "Volume",
        "volume -5",
        "volume must be >= 0",
    ),
    (
        "missing column",
        "Date,Open,High,Low,Close\n2020-01-02,10,11,9,10.5\n",
        ["missing column 'volume'", "found 'Date', 'Open', 'High', 'Low', 'Close'"],
    ),
    _second_row(
        "text in a numeric column",
        "2020-01-03,10.5,11.5,10,eleven,0",
        "Close",
        "text 'eleven' in a numeric column",
        "must be numbers",
    ),
    ("empty file", "", ["empty file (0 bytes"]),
    ("blank lines only", "\n\n\n", ["empty file (only blank lines)"]),
    ("header only", HEADER, ["header only, no data rows"]),
    (
        "malformed row",
        HEADER + ROW1 + "2020-01-03,10.5,11.5,10,11,0,7,8\n",
        ["malformed CSV", "line 3"],
    ),
    (
        "ambiguous columns",
        "Date,Close,close,Open,High,Low,Volume\n2020-01-02,10.5,10.5,10,11,9,1\n",
        ["'Close', 'close' all mean 'close'", "one column per field"],
    ),
]


@pytest.mark.parametrize(("case", "text", "fragments"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_file_is_refused_with_file_row_column_and_rule(write, case, text, fragments):
    path = write("broken.csv", text)
    with pytest.raises(DataValidationError) as err:
        load_bars(path)
    message = str(err.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (case, message)


@pytest.mark.parametrize(
    ("case", "content", "fragment"),
    [
        ("NUL bytes", b"Date,Open\x00\x01\x02\x03binary", "binary data (byte 0x00 at offset 9)"),
        (
            "xlsx workbook",
            b"PK\x03\x04\x14\x00\x06\x00rest-of-zip",
            "a ZIP archive (an Excel .xlsx workbook?)",
        ),
        ("parquet named .csv", b"PAR1\x15\x04\x15\x10rest", "a Parquet file, not CSV text"),
        ("not UTF-8 nor cp1252", b"Date,Open\n\x81\x8d\x8f\x90\x9d\n", "not UTF-8 text (byte 0x81"),
    ],
)
def test_unreadable_or_binary_files_are_refused(write, case, content, fragment):
    path = write("data.csv", content)
    with pytest.raises(DataValidationError, match="unreadable") as err:
        load_bars(path)
    assert fragment in str(err.value), case


def test_missing_file_is_a_validation_error_and_a_file_not_found_error(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(MissingFileError) as err:
        load_bars(path)
    assert isinstance(err.value, DataValidationError) and isinstance(err.value, FileNotFoundError)
    assert str(err.value) == f"{path}: file not found (rule: the source must exist)"


def test_a_folder_given_to_the_csv_loader_is_refused(tmp_path):
    folder = tmp_path / "prices.csv"
    folder.mkdir()
    with pytest.raises(DataValidationError, match="is a folder, not a file"):
        load_csv(folder)


def test_zero_volume_is_legal_and_good_file_loads_to_the_contract(write):
    bars = load_bars(write("good.csv", GOOD_CSV))
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert all(bars.dtypes == np.float64)
    assert bars.index.name == "time" and str(bars.index.tz) == "UTC" and bars.index.unit == "ns"
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
    assert bars["volume"].tolist() == [100.0, 0.0, 300.0]
    assert bars.attrs == {
        "source": str(write("good.csv", GOOD_CSV)),
        "symbol": None,
        "adjusted": None,
        "frequency": "1D",
        "repairs": (),
    }


def test_errors_report_every_offending_row_count(write):
    text = HEADER + ROW1 + "2020-01-03,10.5,10.8,10,11,0\n" + "2020-01-06,11,11.1,10.5,11.5,300\n"
    with pytest.raises(DataValidationError, match=r"row 2 .*; 2 rows break this rule$"):
        load_bars(write("x.csv", text))


# -- repairs: only when asked, each one reported ------------------------------------------------


def test_sort_repair_sorts_and_reports(write):
    bars = load_bars(write("x.csv", HEADER + ROW2 + ROW1), repair=("sort",))
    assert bars.index.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-03"]
    assert bars.attrs["repairs"] == ("sort: 2 rows were out of time order; rows sorted by time",)


def test_dedupe_repair_keeps_the_last_row_and_reports(write):
    text = HEADER + ROW1 + ROW2 + "2020-01-03,11,12,10.5,11.5,300\n"
    bars = load_bars(write("x.csv", text), repair="dedupe")
    assert len(bars) == 2
    assert bars.loc["2020-01-03", "close"] == 11.5
    assert bars.attrs["repairs"] == (
        "dedupe: dropped 1 rows with a repeated timestamp (first 2020-01-03 00:00:00+00:00, row 2); "
        "kept the last of each",
    )


def test_dropna_repair_drops_rows_and_reports(write):
    text = HEADER + ROW1 + "2020-01-03,10.5,11.5,10,,0\n" + "2020-01-06,11,12,10.5,11.5,300\n"
    bars = load_bars(write("x.csv", text), repair=["dropna"])
    assert bars.index.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-06"]
    assert bars.attrs["repairs"] == (
        "dropna: dropped 1 rows with a missing or infinite value (first row 2 (2020-01-03 00:00:00+00:00))",
    )


def test_fill_gaps_inserts_flat_bars_at_missing_expected_slots(write):
    # hourly 24/7 bars with 02:00 and 03:00 missing
    times = ["00:00", "01:00", "04:00", "05:00", "06:00", "07:00", "08:00"]
    rows = "".join(f"2021-03-01 {t},1,2,0.5,1.5,10\n" for t in times)
    bars = load_bars(write("x.csv", HEADER + rows), repair="fill_gaps")
    assert len(bars) == 9
    filled = bars.loc["2021-03-01 02:00":"2021-03-01 03:00"]
    assert (filled[["open", "high", "low", "close"]] == 1.5).all().all()
    assert (filled["volume"] == 0).all()
    assert bars.attrs["repairs"] == (
        "fill_gaps: inserted 2 bars in 1 gaps (open = high = low = close = previous close, volume 0)",
    )


def test_fill_volume_repair_accepts_files_without_volume(write):
    bars = load_bars(
        write("x.csv", "Date,Open,High,Low,Close\n2020-01-02,10,11,9,10.5\n"), repair="fill_volume"
    )
    assert bars["volume"].tolist() == [0.0]
    assert bars.attrs["repairs"][0].startswith("fill_volume: the source has no volume column")


def test_unknown_repair_names_are_refused_with_a_suggestion(write):
    with pytest.raises(ParameterError, match=r"unknown repair 'dedup' \(did you mean 'dedupe'\?\)"):
        load_bars(write("good.csv", GOOD_CSV), repair="dedup")


def test_validate_bars_accepts_frames_and_numbers_rows_by_position():
    idx = pd.date_range("2020-01-01", periods=3, freq="D")
    df = pd.DataFrame(
        {
            "Open": [1.0, 1, 1],
            "High": [2.0, 2, 0.9],
            "Low": [0.5, 0.5, 0.5],
            "Close": [1.5, 1.5, 1.5],
            "Volume": 1.0,
        },
        index=idx,
    )
    with pytest.raises(DataValidationError) as err:
        validate_bars(df, source="my frame")
    assert str(err.value).startswith(
        "my frame: row 3 (2020-01-03 00:00:00+00:00), column 'High': high 0.9"
    )


def test_adjusted_close_scales_ohlc_and_is_dropped(write):
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10,5,100\n2020-01-03,10,12,8,11,5.5,100\n"
    path = write("adj.csv", text)
    adjusted = load_bars(path)
    raw = load_bars(path, adjust=False)
    assert adjusted.attrs["adjusted"] is True and raw.attrs["adjusted"] is False
    assert "adj_close" not in adjusted.columns
    np.testing.assert_allclose(adjusted["open"], [5.0, 5.0])
    np.testing.assert_allclose(adjusted["high"], [5.5, 6.0])
    np.testing.assert_allclose(adjusted["low"], [4.5, 4.0])
    np.testing.assert_allclose(adjusted["close"], [5.0, 5.5])
    np.testing.assert_allclose(raw["close"], [10.0, 11.0])


def test_bad_adjusted_close_is_reported(write):
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10,,100\n"
    with pytest.raises(DataValidationError, match=r"row 1 .*column 'Adj Close': missing value"):
        load_bars(write("adj.csv", text))


# -- summary ------------------------------------------------------------------------------------


def test_summary_counts_weekday_gaps_and_zero_volume(write):
    # Mon 2020-01-06 .. Fri 2020-01-17 with Wed 2020-01-08 and Wed-Thu 2020-01-15..16 missing:
    # Wednesday holds no bar in either week, yet it lies inside the Mon-Fri trading week
    days = [
        "2020-01-06",
        "2020-01-07",
        "2020-01-09",
        "2020-01-10",
        "2020-01-13",
        "2020-01-14",
        "2020-01-17",
    ]
    rows = "".join(f"{d},1,2,0.5,1.5,{0 if i == 1 else 10}\n" for i, d in enumerate(days))
    report = summarize_bars(load_bars(write("d.csv", HEADER + rows)))
    assert report.rows == 7 and report.frequency == "1D"
    assert report.calendar == "Mon-Fri"
    assert (report.expected_bars, report.missing_bars, report.n_gaps) == (10, 3, 2)
    assert [(str(g.start.date()), str(g.end.date()), g.missing) for g in report.largest_gaps] == [
        ("2020-01-15", "2020-01-16", 2),
        ("2020-01-08", "2020-01-08", 1),
    ]
    assert report.zero_volume_bars == 1
    text = report.to_text()
    assert "gaps:       2 gaps, 3 missing of 10 expected bars" in text
    assert report.to_dict()["n_gaps"] == 2


# -- more unreadable files ----------------------------------------------------------------------


def test_a_file_that_cannot_be_opened_is_unreadable(write, monkeypatch):
    path = write("locked.csv", GOOD_CSV)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # the tests may run as root, for whom chmod 000 does not stop reading
    monkeypatch.setattr("data_loaders._files.open", denied, raising=False)
    with pytest.raises(DataValidationError) as err:
        load_bars(path)
    assert str(err.value) == f"{path}: unreadable file (Permission denied)"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x1f\x8b\x08\x00broken", "unreadable gzip file"),
        (gzip.compress(b""), "empty file (nothing inside the gzip archive)"),
        (gzip.compress(b"\x00\x01\x02binary"), "unreadable: binary data (byte 0x00 at offset 0)"),
    ],
    ids=["corrupt", "empty", "binary-inside"],
)
def test_bad_gzip_files_are_refused(write, content, fragment):
    path = write("prices.csv.gz", content)
    with pytest.raises(DataValidationError) as err:
        load_bars(path)
    assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value)


def test_frames_are_held_to_the_same_rules_as_files():
    idx = pd.date_range("2020-01-01", periods=3, freq="D", tz="UTC")
    good = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": [1.0, np.nan, 1.0]},
        index=idx,
    )
    with pytest.raises(
        DataValidationError, match=r"^frame: row 2 .*column 'volume': missing value"
    ):
        validate_bars(good, source="frame")
    with pytest.raises(DataValidationError, match=r"^frame: no data rows"):
        validate_bars(good.iloc[:0], source="frame")
    with pytest.raises(DataValidationError, match=r"expected a pandas DataFrame of bars, got list"):
        validate_bars([1, 2, 3], source="frame")
    with pytest.raises(DataValidationError, match=r"row 3 .*timestamps must be increasing"):
        validate_bars(good.fillna(1.0).iloc[[0, 2, 1]], source="frame")


def test_repairs_combine_in_a_fixed_order_and_each_is_reported(write):
    text = HEADER + ROW2 + ROW1 + "2020-01-03,11,12,10.5,11.5,300\n" + "2020-01-06,11,12,10.5,,1\n"
    bars = load_bars(write("x.csv", text), repair="dropna,dedupe,sort")
    assert bars.index.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-03"]
    assert bars.loc["2020-01-03", "close"] == 11.5  # the later row of the repeated day
    assert [r.split(":")[0] for r in bars.attrs["repairs"]] == ["sort", "dedupe", "dropna"]


def test_fill_gaps_on_daily_stock_bars_fills_the_weekday_holiday_only(write):
    days = ["2020-01-06", "2020-01-07", "2020-01-09", "2020-01-10", "2020-01-13"]
    rows = "".join(f"{d},1,2,0.5,{1 + i / 10},10\n" for i, d in enumerate(days))
    bars = load_bars(write("x.csv", HEADER + rows), repair=["fill_gaps"])
    assert bars.index.strftime("%Y-%m-%d").tolist() == [
        "2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10", "2020-01-13"
    ]  # fmt: skip
    assert bars.loc["2020-01-08"].tolist() == [1.1, 1.1, 1.1, 1.1, 0.0]  # previous close, no volume
