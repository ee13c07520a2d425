"""CSV loader: header aliases, every time format, time zones, separators, encodings, dispatch."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from data_loaders import DataValidationError, ParameterError, load_bars, load_csv

ROWS = [(10.0, 11.0, 9.0, 10.5, 100.0), (10.5, 11.5, 10.0, 11.0, 0.0)]


def _csv(header: str, times: list[str], sep: str = ",") -> str:
    lines = [header]
    for t, row in zip(times, ROWS, strict=True):
        lines.append(sep.join([t, *(f"{v:g}" for v in row)]))
    return "\n".join(lines) + "\n"


def _utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


# -- header aliases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Volume",
        "Datetime,OPEN,HIGH,LOW,CLOSE,VOLUME",
        "timestamp,open,high,low,close,volume",
        "time,oPeN,hIgH,lOw,cLoSe,VoLuMe",
        "Open time,Open,High,Low,Close,Vol",
        "<DATE>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>",
        "DATE_TIME,open_price,high_price,low_price,close_price,quantity",
    ],
)
def test_header_aliases_in_any_case_map_to_the_contract_columns(write, header):
    bars = load_csv(write("a.csv", _csv(header, ["2020-01-02", "2020-01-03"])))
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index.tolist() == [_utc(2020, 1, 2), _utc(2020, 1, 3)]
    np.testing.assert_array_equal(bars.to_numpy(), np.array(ROWS))


@pytest.mark.parametrize(
    "adj", ["Adj Close", "adj_close", "ADJ CLOSE", "AdjClose", "Adjusted Close"]
)
def test_adjusted_close_alias_in_any_spelling_scales_ohlc(write, adj):
    text = f"Date,Open,High,Low,Close,{adj},Volume\n2020-01-02,10,11,9,10,5,100\n"
    bars = load_csv(write("a.csv", text))
    # factor adj/close = 0.5 on every price, volume as traded
    assert bars.iloc[0].tolist() == [5.0, 5.5, 4.5, 5.0, 100.0]
    assert bars.attrs["adjusted"] is True


def test_extra_columns_are_ignored(write):
    text = "Date,Symbol,Open,High,Low,Close,Volume,Trades\n2020-01-02,X,10,11,9,10.5,100,7\n"
    bars = load_csv(write("a.csv", text))
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.iloc[0].tolist() == [10.0, 11.0, 9.0, 10.5, 100.0]


# -- time formats -------------------------------------------------------------------------------

EPOCH_2020 = int(datetime(2020, 1, 2, 14, 30, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (["2020-01-02", "2020-01-03"], [_utc(2020, 1, 2), _utc(2020, 1, 3)]),
        (
            ["2020-01-02 14:30:00", "2020-01-02 14:31:00"],
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            ["2020-01-02T14:30:00Z", "2020-01-02T14:31:00Z"],
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            ["2020-01-02T15:30:00+01:00", "2020-01-02T15:31:00+01:00"],
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            ["2020-01-02 14:30:00.250", "2020-01-02 14:30:00.500"],
            [
                _utc(2020, 1, 2, 14, 30, 0) + pd.Timedelta(milliseconds=250),
                _utc(2020, 1, 2, 14, 30, 0) + pd.Timedelta(milliseconds=500),
            ],
        ),
        (
            [str(EPOCH_2020), str(EPOCH_2020 + 60)],  # epoch seconds
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            [str(EPOCH_2020 * 1000), str(EPOCH_2020 * 1000 + 60_000)],  # epoch milliseconds
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            [str(EPOCH_2020 * 1000 + 1), str(EPOCH_2020 * 1000 + 2)],  # ms precision is kept
            [
                _utc(2020, 1, 2, 14, 30) + pd.Timedelta(milliseconds=1),
                _utc(2020, 1, 2, 14, 30) + pd.Timedelta(milliseconds=2),
            ],
        ),
        (
            [str(EPOCH_2020 * 1_000_000), str(EPOCH_2020 * 1_000_000 + 60_000_000)],  # microseconds
            [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)],
        ),
        (
            [f"{EPOCH_2020}.5", f"{EPOCH_2020 + 1}.5"],  # fractional seconds
            [_utc(2020, 1, 2, 14, 30, 0, 500000), _utc(2020, 1, 2, 14, 30, 1, 500000)],
        ),
        (["20200102", "20200103"], [_utc(2020, 1, 2), _utc(2020, 1, 3)]),  # YYYYMMDD
        (["01/31/2020", "02/03/2020"], [_utc(2020, 1, 31), _utc(2020, 2, 3)]),  # US
        (["31/01/2020", "03/02/2020"], [_utc(2020, 1, 31), _utc(2020, 2, 3)]),  # day-first only
        (["31.01.2020", "03.02.2020"], [_utc(2020, 1, 31), _utc(2020, 2, 3)]),
        (["2020.01.31 10:00", "2020.01.31 11:00"], [_utc(2020, 1, 31, 10), _utc(2020, 1, 31, 11)]),
        (["31-Jan-2020", "03-Feb-2020"], [_utc(2020, 1, 31), _utc(2020, 2, 3)]),
    ],
    ids=[
        "iso-date",
        "iso-datetime",
        "iso-Z",
        "iso-offset",
        "iso-fraction",
        "epoch-s",
        "epoch-ms",
        "epoch-ms-precision",
        "epoch-us",
        "epoch-s-fraction",
        "yyyymmdd",
        "us",
        "day-first",
        "dotted",
        "metatrader",
        "dd-mon-yyyy",
    ],
)
def test_every_time_format_parses_to_utc(write, times, expected):
    bars = load_csv(write("t.csv", _csv("time,open,high,low,close,volume", times)))
    assert bars.index.tolist() == expected
    assert str(bars.index.tz) == "UTC" and bars.index.unit == "ns" and bars.index.name == "time"


def test_epoch_numbers_agree_with_the_standard_library(write):
    seconds = [1_600_000_000 + 3600 * i for i in range(2)]
    bars = load_csv(write("t.csv", _csv("timestamp,o,h,l,c,v", [str(s) for s in seconds])))
    assert [t.to_pydatetime() for t in bars.index] == [
        datetime.fromtimestamp(s, tz=UTC) for s in seconds
    ]


def test_naive_times_are_utc_unless_a_time_zone_is_given(write):
    path = write(
        "t.csv",
        _csv("Datetime,Open,High,Low,Close,Volume", ["2020-01-02 09:30", "2020-07-01 09:30"]),
    )
    assert load_csv(path).index.tolist() == [_utc(2020, 1, 2, 9, 30), _utc(2020, 7, 1, 9, 30)]
    # New York is UTC-5 in January and UTC-4 (daylight saving) in July
    ny = load_csv(path, tz="America/New_York").index
    assert ny.tolist() == [_utc(2020, 1, 2, 14, 30), _utc(2020, 7, 1, 13, 30)]
    tokyo = load_bars(path, tz="Asia/Tokyo").index
    assert tokyo.tolist() == [_utc(2020, 1, 2, 0, 30), _utc(2020, 7, 1, 0, 30)]


def test_a_given_time_zone_does_not_shift_times_that_carry_an_offset(write):
    times = ["2020-01-02T09:30:00-05:00", "2020-01-02T09:31:00-05:00"]
    path = write("t.csv", _csv("time,open,high,low,close,volume", times))
    expected = [
        datetime(2020, 1, 2, 9, 30 + i, tzinfo=timezone(timedelta(hours=-5))) for i in range(2)
    ]
    for tz in (None, "Asia/Tokyo"):
        assert [t.to_pydatetime() for t in load_csv(path, tz=tz).index] == expected


def test_mixed_utc_offsets_in_one_column_are_converted(write):
    # the fixture exports of Yahoo change offset with daylight saving (-04:00 -> -05:00)
    times = ["2012-11-02 00:00:00-04:00", "2012-11-05 00:00:00-05:00"]
    bars = load_csv(write("t.csv", _csv("Date,Open,High,Low,Close,Volume", times)))
    assert bars.index.tolist() == [_utc(2012, 11, 2, 4), _utc(2012, 11, 5, 5)]


def test_explicit_date_format_overrides_detection(write):
    # 01/02 is January 2 by the US-first convention; date_format reads it day-first
    path = write("t.csv", _csv("Date,Open,High,Low,Close,Volume", ["01/02/2020", "02/02/2020"]))
    assert load_csv(path).index.tolist() == [_utc(2020, 1, 2), _utc(2020, 2, 2)]
    assert load_csv(path, date_format="%d/%m/%Y").index.tolist() == [
        _utc(2020, 2, 1),
        _utc(2020, 2, 2),
    ]


@pytest.mark.parametrize(
    ("times", "fragments"),
    [
        (
            ["2020-01-02", "01/03/2020"],
            [
                "row 2, column 'time'",
                "unparseable date '01/03/2020'",
                "read as 'ISO8601'",
                "one date format per column",
            ],
        ),
        (
            [str(EPOCH_2020), str(EPOCH_2020 * 1000)],
            [
                "row 2, column 'time'",
                "is in ms while most rows are in s",
                "one epoch unit per column",
            ],
        ),
        (
            ["yesterday", "last week"],
            ["row 1, column 'time'", "unparseable date 'yesterday'", "date_format="],
        ),
        (
            ["2020-01-02", "today"],  # pandas alone would read "today" as the current date
            ["row 2, column 'time'", "unparseable date 'today'", "dates are absolute"],
        ),
        (["2020-01-02", "2020-02-30"], ["row 2", "unparseable date '2020-02-30'"]),
    ],
    ids=["mixed-layouts", "mixed-epoch-units", "words", "today", "impossible-date"],
)
def test_unreadable_time_columns_name_the_row_and_value(write, times, fragments):
    path = write("t.csv", _csv("time,open,high,low,close,volume", times))
    with pytest.raises(DataValidationError) as err:
        load_csv(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, message


def test_local_times_that_do_not_exist_are_refused(write):
    # 2021-03-14 02:30 does not exist in New York (clocks jump from 02:00 to 03:00)
    path = write(
        "t.csv", _csv("time,open,high,low,close,volume", ["2021-03-14 01:30", "2021-03-14 02:30"])
    )
    with pytest.raises(
        DataValidationError,
        match=r"row 2, column 'time': local time 2021-03-14 02:30:00 does not exist",
    ):
        load_csv(path, tz="America/New_York")
    assert len(load_csv(path)) == 2  # as UTC the same file is fine


def test_repeated_fall_back_hour_is_resolved_by_order(write):
    # 2021-11-07 01:30 happens twice in New York: first EDT (05:30 UTC), then EST (06:30 UTC)
    times = ["2021-11-07 00:30", "2021-11-07 01:30", "2021-11-07 01:30", "2021-11-07 02:30"]
    rows = "".join(f"{t},1,2,0.5,1.5,1\n" for t in times)
    bars = load_csv(
        write("t.csv", "time,open,high,low,close,volume\n" + rows), tz="America/New_York"
    )
    assert bars.index.tolist() == [_utc(2021, 11, 7, h, 30) for h in (4, 5, 6, 7)]


@pytest.mark.parametrize(
    ("tz", "match"),
    [
        (
            "america/new_york",
            r"unknown time zone 'america/new_york' \(did you mean 'America/New_York'\?\)",
        ),
        ("Mars/Olympus", r"unknown time zone 'Mars/Olympus' \(e.g. 'UTC', 'America/New_York'\)$"),
        (5, r"`tz` must be an IANA time-zone name"),
    ],
)
def test_unknown_time_zones_are_parameter_errors(write, tz, match):
    path = write("t.csv", _csv("time,open,high,low,close,volume", ["2020-01-02", "2020-01-03"]))
    with pytest.raises(ParameterError, match=match):
        load_csv(path, tz=tz)


# -- file shapes --------------------------------------------------------------------------------


def test_gzip_compressed_csv(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(
        gzip.compress(
            _csv("Date,Open,High,Low,Close,Volume", ["2020-01-02", "2020-01-03"]).encode()
        )
    )
    bars = load_bars(path)
    np.testing.assert_array_equal(bars.to_numpy(), np.array(ROWS))


@pytest.mark.parametrize(
    ("sep", "name"), [(";", "semi.csv"), ("\t", "tabs.tsv"), ("|", "pipes.txt")]
)
def test_other_separators_are_sniffed(write, sep, name):
    text = _csv(
        sep.join(["Date", "Open", "High", "Low", "Close", "Volume"]),
        ["2020-01-02", "2020-01-03"],
        sep,
    )
    bars = load_bars(write(name, text))
    np.testing.assert_array_equal(bars.to_numpy(), np.array(ROWS))


def test_semicolon_files_may_use_a_decimal_comma(write):
    text = "Date;Open;High;Low;Close;Volume\n2020-01-02;10,5;11,25;9,75;10,125;100\n"
    assert load_csv(write("eu.csv", text)).iloc[0].tolist() == [10.5, 11.25, 9.75, 10.125, 100.0]


def test_metatrader_export_with_separate_date_and_time(write):
    text = (
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
        "2020.01.02\t00:00\t1.1\t1.2\t1.0\t1.15\t10\n"
        "2020.01.02\t01:00\t1.15\t1.25\t1.1\t1.2\t12\n"
    )
    bars = load_csv(write("EURUSD60.csv", text))
    assert bars.index.tolist() == [_utc(2020, 1, 2, 0), _utc(2020, 1, 2, 1)]
    assert bars["close"].tolist() == [1.15, 1.2] and bars["volume"].tolist() == [10.0, 12.0]


def test_headerless_exchange_dump(write):
    # Binance klines: open time (ms), o, h, l, c, v, close time, quote volume, trades
    t0 = EPOCH_2020 * 1000
    text = (
        f"{t0},1,2,0.5,1.5,10,{t0 + 59_999},15,3\n"
        f"{t0 + 60_000},1.5,2.5,1,2,20,{t0 + 119_999},40,5\n"
    )
    bars = load_csv(write("BTCUSDT-1m.csv", text))
    assert bars.index.tolist() == [_utc(2020, 1, 2, 14, 30), _utc(2020, 1, 2, 14, 31)]
    assert bars.to_numpy().tolist() == [[1, 2, 0.5, 1.5, 10], [1.5, 2.5, 1, 2, 20]]


def test_utf8_byte_order_mark_is_skipped(tmp_path):
    body = _csv("Date,Open,High,Low,Close,Volume", ["2020-01-02", "2020-01-03"])
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    bars = load_csv(path)
    assert bars.index[0] == _utc(2020, 1, 2) and bars.attrs["source"] == str(path)


def test_windows_1252_header_is_decoded(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes(
        "Date,Open,High,Low,Close,Volume,Währung\n2020-01-02,1,2,0.5,1.5,1,\u20ac\n".encode(
            "cp1252"
        )
    )
    assert load_csv(path)["close"].tolist() == [1.5]


def test_unknown_suffix_is_read_as_csv_and_parquet_content_is_recognised(tmp_path):
    text = _csv("Date,Open,High,Low,Close,Volume", ["2020-01-02", "2020-01-03"])
    odd = tmp_path / "prices.dat"
    odd.write_text(text)
    assert len(load_bars(odd)) == 2
    pq = tmp_path / "prices.bin"
    load_csv(odd).to_parquet(pq)
    assert load_bars(pq).equals(load_csv(odd))


def test_symbol_and_source_label_are_stored(write):
    path = write("a.csv", _csv("Date,Open,High,Low,Close,Volume", ["2020-01-02", "2020-01-03"]))
    bars = load_csv(path, symbol="XYZ", source="my data")
    assert bars.attrs["symbol"] == "XYZ" and bars.attrs["source"] == "my data"


def test_unknown_options_and_schemes_are_refused(write):
    path = write("a.csv", _csv("Date,Open,High,Low,Close,Volume", ["2020-01-02", "2020-01-03"]))
    with pytest.raises(
        ParameterError, match=r"source 'csv' has no option 'symbl' \(did you mean 'symbol'\?\)"
    ):
        load_bars(path, symbl="X")
    with pytest.raises(
        DataValidationError, match=r"'sampel' is not a source scheme \(did you mean 'sample'\?\)"
    ):
        load_bars("sampel:aapl")
