import numpy as np
import pyarrow as pa
import pytest

from arbkit.core.schema import ARROW_SCHEMA, COLUMN_NAMES, EVENT_DTYPE, Instrument, Kind


def test_numpy_and_arrow_schemas_come_from_one_definition():
    assert EVENT_DTYPE.names == COLUMN_NAMES == tuple(ARROW_SCHEMA.names)
    for name in COLUMN_NAMES:
        arrow_as_numpy = ARROW_SCHEMA.field(name).type.to_pandas_dtype()
        assert np.dtype(arrow_as_numpy) == EVENT_DTYPE[name], name


def test_kind_codes_are_stable():
    assert [int(k) for k in Kind] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [k.name for k in Kind] == ["SNAPSHOT", "DEPTH", "TRADE", "BBO", "CLEAR", "GAP", "FUNDING", "MARK"]


def test_instrument_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="tick_size"):
        Instrument("binance", "BTCUSDT", tick_size=0.0, lot_size=0.001)
    with pytest.raises(ValueError, match="contract_type"):
        Instrument("binance", "BTCUSDT", tick_size=0.01, lot_size=0.001, contract_type="swap")
    with pytest.raises(ValueError, match="tick_size"):
        Instrument("binance", "BTCUSDT", tick_size=float("nan"), lot_size=0.001)


def test_instrument_round_trips_through_dict():
    i = Instrument("polymarket", "BTC-UP", tick_size=0.01, lot_size=0.01, contract_type="binary_outcome",
                   maker_fee_bps=-1.0)
    assert Instrument.from_dict(i.to_dict()) == i
    with pytest.raises(ValueError, match="unknown fields"):
        Instrument.from_dict({**i.to_dict(), "bogus": 1})
