"""Parquet files and folders of one file per symbol (-> dict of bars)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    DataValidationError,
    MissingFileError,
    load_bars,
    load_folder,
    load_parquet,
    synthetic_bars,
    validate_source,
)

RAW = {
    "Open": [10.0, 10.5, 11.0],
    "High": [11.0, 11.5, 12.0],
    "Low": [9.0, 10.0, 10.5],
    "Close": [10.5, 11.0, 11.5],
    "Volume": [100.0, 0.0, 300.0],
}
DAYS = ["2020-01-02", "2020-01-03", "2020-01-06"]
EXPECTED_INDEX = pd.DatetimeIndex(DAYS, name="time").tz_localize("UTC").as_unit("ns")


def _check(bars: pd.DataFrame) -> None:
    assert bars.index.equals(EXPECTED_INDEX)
    np.testing.assert_array_equal(bars.to_numpy(), np.column_stack(list(RAW.values())))


# -- Parquet ------------------------------------------------------------------------------------


def test_bars_written_by_pandas_round_trip_exactly(tmp_path):
    bars = synthetic_bars(500, freq="1h", seed=7, symbol="SYN")
    path = tmp_path / "syn.parquet"
    bars.to_parquet(path)
    back = load_parquet(path)
    pd.testing.assert_frame_equal(back, bars, check_freq=False)
    assert back.attrs["symbol"] == "SYN"  # kept from the file's pandas metadata
    assert back.attrs["source"] == str(path) and back.attrs["frequency"] == "1h"


@pytest.mark.parametrize(
    "time_column",
    [
        pd.Series(pd.to_datetime(DAYS)),  # naive datetime64 -> UTC
        pd.Series(pd.to_datetime(DAYS).tz_localize("UTC").tz_convert("Asia/Tokyo")),  # aware
        pd.Series([int(pd.Timestamp(d, tz="UTC").timestamp() * 1000) for d in DAYS]),  # epoch ms
        pd.Series(DAYS),  # text
    ],
    ids=["naive", "aware-tokyo", "epoch-ms", "text"],
)
def test_parquet_with_a_time_column_of_any_type(tmp_path, time_column):
    df = pd.DataFrame({"Date": time_column, **RAW})
    path = tmp_path / "x.parquet"
    df.to_parquet(path)
    _check(load_parquet(path))


def test_parquet_naive_index_with_a_time_zone(tmp_path):
    df = pd.DataFrame(
        RAW,
        index=pd.DatetimeIndex(
            ["2020-01-02 09:30", "2020-01-02 09:31", "2020-01-02 09:32"], name="ts"
        ),
    )
    path = tmp_path / "x.pq"
    df.to_parquet(path)
    bars = load_bars(path, tz="America/New_York")
    assert bars.index[0] == pd.Timestamp("2020-01-02 14:30", tz="UTC")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"Date,Open\n2020-01-02,1\n", "unreadable: not a Parquet file (no PAR1 marker"),
        (b"PAR1" + b"\x00" * 32 + b"PAR1", "unreadable Parquet file ("),
        (b"", "empty file (0 bytes"),
    ],
    ids=["csv-text", "truncated", "empty"],
)
def test_broken_parquet_files_are_refused(tmp_path, content, fragment):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    with pytest.raises(DataValidationError) as err:
        load_bars(path)
    assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value)


def test_parquet_rule_violations_name_row_column_and_rule(tmp_path):
    df = pd.DataFrame({"time": DAYS, **RAW})
    df.loc[2, "Low"] = 12.5  # above open 11 and close 11.5
    path = tmp_path / "x.parquet"
    df.to_parquet(path)
    with pytest.raises(DataValidationError) as err:
        load_parquet(path)
    assert str(err.value).startswith(
        f"{path}: row 3 (2020-01-06 00:00:00+00:00), column 'Low': low 12.5 is above min(open 11, close 11.5)"
    )


def test_parquet_without_rows_or_columns_is_refused(tmp_path):
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({c: pd.Series([], dtype=float) for c in ["time", *RAW]}).to_parquet(empty)
    with pytest.raises(DataValidationError, match="no data rows"):
        load_parquet(empty)
    nocols = tmp_path / "nocols.parquet"
    pd.DataFrame({"time": DAYS, "value": [1.0, 2.0, 3.0]}).to_parquet(nocols)
    with pytest.raises(
        DataValidationError, match=r"missing columns 'open', 'high', 'low', 'close', 'volume'"
    ):
        load_parquet(nocols)


def test_text_in_a_numeric_parquet_column_is_refused(tmp_path):
    df = pd.DataFrame({"time": DAYS, **RAW})
    df["Volume"] = ["100", "n/a?", "300"]
    path = tmp_path / "x.parquet"
    df.to_parquet(path)
    with pytest.raises(
        DataValidationError, match=r"row 2 .*column 'Volume': text 'n/a\?' in a numeric column"
    ):
        load_parquet(path)


# -- folders ------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "universe"
    root.mkdir()
    raw = pd.DataFrame({"Date": DAYS, **RAW})
    raw.to_csv(root / "aapl.csv", index=False)
    (root / "btc-usdt.csv.gz").write_bytes(gzip.compress(raw.to_csv(index=False).encode()))
    doubled = raw.assign(**{k: np.asarray(v) * 2 for k, v in RAW.items() if k != "Volume"})
    doubled.to_parquet(root / "MSFT.parquet")
    (root / "README.md").write_text("not data")
    (root / ".hidden.csv").write_text("garbage")
    (root / "sub").mkdir()
    return root


def test_folder_of_one_file_per_symbol_becomes_a_dict(folder):
    data = load_folder(folder)
    assert list(data) == ["AAPL", "BTC-USDT", "MSFT"]
    for sym, bars in data.items():
        assert bars.attrs["symbol"] == sym
        assert bars.index.equals(EXPECTED_INDEX)
    _check(data["AAPL"])
    _check(data["BTC-USDT"])
    np.testing.assert_array_equal(data["MSFT"]["close"].to_numpy(), np.array(RAW["Close"]) * 2)
    np.testing.assert_array_equal(data["MSFT"]["volume"].to_numpy(), RAW["Volume"])


def test_load_bars_and_validate_source_dispatch_folders(folder):
    data = load_bars(folder)
    assert isinstance(data, dict) and sorted(data) == ["AAPL", "BTC-USDT", "MSFT"]
    reports = validate_source(folder)
    assert {sym: r.rows for sym, r in reports.items()} == {"AAPL": 3, "BTC-USDT": 3, "MSFT": 3}
    assert reports["MSFT"].symbol == "MSFT"


def test_a_bad_file_in_a_folder_stops_the_load_with_its_own_message(folder):
    (folder / "ibm.csv").write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,-1,100\n")
    with pytest.raises(DataValidationError) as err:
        load_folder(folder)
    assert str(err.value).startswith(f"{folder / 'ibm.csv'}: row 1")
    assert "prices must be > 0" in str(err.value)


def test_two_files_for_one_symbol_are_refused(folder):
    pd.DataFrame({"Date": DAYS, **RAW}).to_csv(folder / "AAPL.csv.gz", index=False)
    with pytest.raises(
        DataValidationError, match=r"both give symbol 'AAPL' \(rule: one file per symbol\)"
    ):
        load_folder(folder)


def test_missing_or_empty_folders_are_refused(tmp_path):
    with pytest.raises(MissingFileError, match="folder not found"):
        load_folder(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt.bak").write_text("x")
    with pytest.raises(
        DataValidationError, match=r"no \.csv, \.csv\.gz, \.tsv or \.parquet files in this folder"
    ):
        load_bars(empty)
    a_file = tmp_path / "f.csv"
    a_file.write_text("x")
    with pytest.raises(DataValidationError, match="not a folder"):
        load_folder(a_file)


def test_folder_time_zone_and_raw_prices_apply_to_every_file(tmp_path):
    root = tmp_path / "u"
    root.mkdir()
    text = "Datetime,Open,High,Low,Close,Adj Close,Volume\n2020-01-02 09:30,10,11,9,10,5,100\n"
    for name in ("a.csv", "b.csv"):
        (root / name).write_text(text)
    data = load_folder(root, tz="America/New_York", adjust=False)
    for bars in data.values():
        assert bars.index[0] == pd.Timestamp("2020-01-02 14:30", tz="UTC")
        assert bars["close"].iloc[0] == 10.0 and bars.attrs["adjusted"] is False
