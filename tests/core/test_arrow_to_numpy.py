"""Arrow columns to numpy without pyarrow's pandas-importing path: same values, offsets and nulls handled."""
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from arbkit.core.columns import arrow_to_numpy
from helpers.paths import BUNDLED


@pytest.mark.parametrize("typ", [pa.int8(), pa.uint8(), pa.int32(), pa.int64(), pa.float64()])
def test_equals_pyarrow_for_whole_and_sliced_arrays(typ):
    arr = pa.array(np.arange(-5, 95) % 100, type=pa.int64()).cast(typ, safe=False)
    for a in (arr, arr.slice(7), arr.slice(13, 40)):
        got = arrow_to_numpy(a)
        assert got.dtype == a.to_numpy().dtype and np.array_equal(got, a.to_numpy())


def test_nulls_go_through_pyarrow():
    got = arrow_to_numpy(pa.array([1.0, None, 3.0]))
    assert np.isnan(got[1]) and got[0] == 1.0 and got[2] == 3.0


def test_reading_a_recording_does_not_import_pandas():
    code = ("import sys, arbkit; rec = arbkit.load(sys.argv[1]); rec.to_numpy(); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(BUNDLED)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
