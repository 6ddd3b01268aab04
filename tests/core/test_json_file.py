"""The JSON files users' tools read: strict JSON, checked against their schema before they are written, and every
schema field documented."""
import json
import math

import numpy as np
import pytest

from arbkit.core.errors import DataError
from arbkit.core.json_file import SCHEMAS, jsonable, read_json, schema, write_json
from helpers.paths import ROOT


def test_jsonable_makes_strict_json():
    doc = jsonable({"a": float("nan"), "b": [np.float64(1.5), np.int64(2), math.inf], "c": (True, None),
                    "d": np.array([1.0, np.nan])})
    assert doc == {"a": None, "b": [1.5, 2, None], "c": [True, None], "d": [1.0, None]}
    json.dumps(doc, allow_nan=False)


def test_an_invalid_document_is_never_written(tmp_path):
    p = tmp_path / "summary_1m.json"
    with pytest.raises(DataError, match="summary_1m.json.*summary_stats"):
        write_json(p, {"metadata": {}, "candidates": []}, "stage_summary")
    assert not p.exists() and not list(tmp_path.iterdir())


def test_read_names_the_file_and_the_field(tmp_path):
    p = tmp_path / "c.json"
    p.write_text("{not json")
    with pytest.raises(DataError, match="c.json: not JSON"):
        read_json(p, "candidates")
    p.write_text(json.dumps({"metadata": {"source": "x"}, "candidates": []}))
    with pytest.raises(DataError, match="field 'metadata'.*required"):
        read_json(p, "candidates")


def _fields(node, prefix=""):
    """Property names of a schema, with their parents (``metadata.source``, ``candidates[].status``)."""
    out = set()
    for name, sub in (node.get("properties") or {}).items():
        out.add(f"{prefix}{name}")
        out |= _fields(sub, f"{prefix}{name}.")
    if "items" in node and isinstance(node["items"], dict):
        out |= _fields(node["items"], prefix[:-1] + "[]." if prefix else "[].")
    return out


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_field_is_documented(name):
    text = (ROOT / "docs" / "validation.md").read_text()
    s = schema(name)
    for field in sorted(_fields(s)):
        leaf = field.rsplit(".", 1)[-1]
        if leaf in ("start_ns", "end_ns", "start", "end", "coverage", "name", "fee_scale", "slippage_bps", "arbkit",
                    "git_commit", "git_dirty", "path", "parts_sha256", "instruments", "total", "counters", "seed",
                    "verdict", "passed", "thresholds", "gate"):
            continue  # documented inside their parent's row
        forms = (f"`{leaf}`", f"`{leaf}.", f"`{leaf}[].", f".{leaf}`")
        assert any(f in text for f in forms), f"{name}: {field} is not in docs/validation.md"
    assert SCHEMAS[name] in text
