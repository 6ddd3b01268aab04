"""JSON output files checked against their documented schema (``arbkit/conf/schemas``), written atomically.

Every file users' tools read (``candidates.json``, ``summary_<duration>.json``,
``runs/<run_id>_kpi.json``) goes through :func:`write_json`: NaN and infinities become
``null`` (strict JSON), numpy numbers become Python numbers, the document is checked
against its JSON Schema (draft 2020-12, :mod:`jsonschema`) and only then written, under a
temporary name renamed into place. :func:`check` reads a file made elsewhere the same way.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from arbkit.conf import conf_path
from arbkit.core.errors import DataError

SCHEMAS_DIR = conf_path("schemas")
#: the documented files: name -> schema file under arbkit/conf/schemas
SCHEMAS = {"candidates": "candidates.schema.json", "stage_summary": "stage_summary.schema.json",
           "run_kpi": "run_kpi.schema.json"}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name`` (a key of :data:`SCHEMAS`)."""
    return json.loads((SCHEMAS_DIR / SCHEMAS[name]).read_text())


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values: NaN / inf -> None, numpy scalars and arrays -> Python, tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy scalar or array
        return jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def check(doc: Any, name: str, where: str | Path) -> None:
    """Raise a DataError naming ``where`` and the first offending field when ``doc`` breaks schema ``name``."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(schema(name))
    error = best_match(validator.iter_errors(doc))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise DataError(f"not a valid {name.replace('_', ' ')} file: {error.message}", path=where, field=field)


def read_json(path: str | Path, name: str) -> dict[str, Any]:
    """A JSON file checked against schema ``name``; a DataError naming the file (and field) when it is not."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except OSError as exc:
        raise DataError(f"cannot read ({exc.strerror or exc})", path=p) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", path=p) from None
    check(doc, name, p)
    return doc


def write_json(path: str | Path, doc: Any, name: str | None = None) -> Path:
    """Write ``doc`` (made :func:`jsonable`, checked against schema ``name`` when given) atomically; the path."""
    p = Path(path)
    clean = jsonable(doc)
    if name is not None:
        check(clean, name, p)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(clean, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, p)
    return p
