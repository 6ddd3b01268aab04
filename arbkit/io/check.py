"""``arbkit validate``: check a recording and name the file, row and field of every problem.

Checks, in order: the manifest parses; every listed part exists, has the recorded sha256,
opens as Parquet with the event schema and the recorded row count; no unlisted parts;
then, streaming the rows: ts_local sorted (across parts too), known kinds and assets,
valid sides (none on FUNDING / MARK rows), finite non-negative prices (a FUNDING rate may
be negative) and quantities, prices on the instrument's tick grid, per-asset DEPTH sequence
ids never going back; GAP rows are reported as warnings; finally the books are replayed and
any book crossed after an update is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arbkit.book.scanner import BookScanner
from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.io.manifest import read_manifest, sha256_file
from arbkit.io.parts import PARTS_DIR, check_part_schema
from arbkit.core.schema import KIND_NAMES, Kind

MAX_EXAMPLES = 20
_PRICED = np.array([Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE, Kind.BBO], dtype=np.uint8)
_UNSIDED = np.array([Kind.FUNDING, Kind.MARK], dtype=np.uint8)


@dataclass
class Issue:
    """One problem found: severity, file, row, field, message."""
    severity: str  # "error" | "warning"
    check: str
    message: str
    path: str | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.path, f"row {self.row}" if self.row is not None else None,
                                      f"field {self.field!r}" if self.field else None) if x)
        return f"{self.severity}: {where}: {self.message}" if where else f"{self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The issue as plain data."""
        return dict(self.__dict__)


@dataclass
class ValidationReport:
    """Everything ``validate`` found."""
    path: str
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rows_checked: int = 0

    @property
    def errors(self) -> list[Issue]:
        """The errors."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """The warnings."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def add(self, severity: str, check: str, message: str, *, path: str | Path | None = None, row: int | None = None,
            field: str | None = None, count: int = 1) -> None:
        """Record one issue."""
        key = f"{severity}:{check}"
        seen = self.counts.get(key, 0)
        self.counts[key] = seen + count
        if seen < MAX_EXAMPLES:
            self.issues.append(Issue(severity, check, message, str(path) if path is not None else None, row, field))

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (``--json``)."""
        return {"path": self.path, "ok": self.ok, "rows_checked": self.rows_checked, "counts": self.counts,
                "issues": [i.to_dict() for i in self.issues]}


def validate(path: str | Path, *, check_books: bool = True, check_hashes: bool = True) -> ValidationReport:
    """Validate the recording at ``path``; never raises for bad data, it reports."""
    path = Path(path)
    report = ValidationReport(str(path))
    try:
        manifest = read_manifest(path)
    except DataError as exc:
        report.add("error", "manifest", exc.problem, path=exc.path, field=exc.field)
        return report
    insts = manifest.instruments
    n_assets = len(insts)
    listed = {p.path for p in manifest.parts}
    parts_dir = path / PARTS_DIR
    if parts_dir.is_dir():
        for f in sorted(parts_dir.iterdir()):
            rel = f"{PARTS_DIR}/{f.name}"
            if f.suffix == ".parquet" and rel not in listed:
                report.add("warning", "unlisted_part", "Parquet part not listed in manifest.json (ignored by readers)",
                           path=f)
            elif f.name.endswith(".tmp"):
                report.add("warning", "partial_part", "leftover temporary part (an interrupted write; ignored)", path=f)

    tick = np.array([i.tick_size for i in insts], dtype=np.float64)
    scanner = BookScanner(tick) if check_books and n_assets else None
    prev_ts = np.iinfo(np.int64).min
    last_seq = np.full(max(n_assets, 1), -1, dtype=np.int64)
    by_kind = np.zeros(256, dtype=np.int64)
    part_starts: list[tuple[int, str]] = []
    total = 0
    for part in manifest.parts:
        p = path / part.path
        if not p.is_file():
            report.add("error", "missing_part", "part listed in manifest.json is missing", path=p)
            continue
        if check_hashes:
            digest = sha256_file(p)
            if digest != part.sha256:
                report.add("error", "hash_mismatch", f"content hash {digest[:16]}… differs from manifest.json's "
                                                     f"{part.sha256[:16]}… (file changed or corrupt)", path=p,
                           field="sha256")
        try:
            pf = pq.ParquetFile(p)
            check_part_schema(pf.schema_arrow, p)
        except DataError as exc:
            report.add("error", "schema", exc.problem, path=p, field=exc.field)
            continue
        except (pa.ArrowInvalid, OSError) as exc:
            report.add("error", "corrupt_part", f"corrupt or truncated Parquet file ({exc})", path=p)
            continue
        if pf.metadata.num_rows != part.rows:
            report.add("error", "row_count", f"part has {pf.metadata.num_rows} rows, manifest.json says {part.rows}",
                       path=p, field="rows")
        part_starts.append((total, str(p)))
        offset = 0
        try:
            for batch in pf.iter_batches(batch_size=1 << 16):
                cols = EventColumns.from_arrow(batch)
                prev_ts = _check_rows(report, cols, p, offset, prev_ts, n_assets, tick, last_seq, by_kind)
                if scanner is not None and _feedable(cols, n_assets):
                    before = len(scanner.crossed_rows)
                    scanner.rows = total + offset
                    scanner.feed(cols)
                    for j in range(before, len(scanner.crossed_rows)):
                        _report_crossed(report, scanner, insts, j, part_starts)
                offset += len(cols)
        except (pa.ArrowInvalid, OSError) as exc:
            report.add("error", "corrupt_part", f"corrupt or truncated Parquet data after row {offset} ({exc})",
                       path=p, row=offset)
        total += offset
    if scanner is not None:
        before = len(scanner.crossed_rows)
        scanner.finish()
        for j in range(before, len(scanner.crossed_rows)):
            _report_crossed(report, scanner, insts, j, part_starts)
    report.rows_checked = total
    if total != manifest.events:
        report.add("error", "row_count", f"parts hold {total} rows, manifest.json says events={manifest.events}",
                   path=path / "manifest.json", field="events")
    found = {KIND_NAMES[k]: int(by_kind[k]) for k in KIND_NAMES if by_kind[k]}
    if manifest.complete and found != manifest.by_kind and total == manifest.events:
        report.add("error", "by_kind", f"rows by kind {found} differ from manifest.json's {manifest.by_kind}",
                   path=path / "manifest.json", field="by_kind")
    if not manifest.complete:
        report.add("warning", "incomplete", "manifest.json says the writer did not finish (recording cut short); "
                                            "every listed part is usable", path=path / "manifest.json",
                   field="complete")
    return report


def _feedable(cols: EventColumns, n_assets: int) -> bool:
    return bool(np.all((cols.asset >= 0) & (cols.asset < n_assets)))


def _report_crossed(report: ValidationReport, scanner: BookScanner, insts, j: int,
                    part_starts: list[tuple[int, str]]) -> None:
    global_row, asset = scanner.crossed_rows[j], scanner.crossed_assets[j]
    start, part = max((s for s in part_starts if s[0] <= global_row), key=lambda s: s[0])
    report.add("error", "crossed_book", f"{insts[asset].key} book crossed after this update (best bid >= best ask)",
               path=part, row=global_row - start, field="price")


def _check_rows(report: ValidationReport, c: EventColumns, p: Path, offset: int, prev_ts: int, n_assets: int,
                tick: np.ndarray, last_seq: np.ndarray, by_kind: np.ndarray) -> int:
    n = len(c)
    if n == 0:
        return prev_ts
    np.add.at(by_kind, c.kind.astype(np.int64), 1)
    ts = c.ts_local
    if ts[0] < prev_ts:
        report.add("error", "unsorted", f"ts_local {int(ts[0])} is before the previous row's {prev_ts}", path=p,
                   row=offset, field="ts_local")
    for r in np.flatnonzero(ts[1:] < ts[:-1])[:MAX_EXAMPLES] + 1:
        report.add("error", "unsorted", f"ts_local {int(ts[r])} is before the previous row's {int(ts[r - 1])}",
                   path=p, row=offset + int(r), field="ts_local")
    known = np.isin(c.kind, np.array(list(KIND_NAMES), dtype=np.uint8))
    for r in np.flatnonzero(~known)[:MAX_EXAMPLES]:
        report.add("error", "unknown_kind", f"kind {int(c.kind[r])} is not one of {sorted(KIND_NAMES.values())}",
                   path=p, row=offset + int(r), field="kind")
    bad_asset = (c.asset < 0) | (c.asset >= n_assets)
    for r in np.flatnonzero(bad_asset)[:MAX_EXAMPLES]:
        report.add("error", "unknown_asset", f"asset {int(c.asset[r])} is not one of the {n_assets} instruments",
                   path=p, row=offset + int(r), field="asset")
    priced = np.isin(c.kind, _PRICED)
    bad_side = priced & ~np.isin(c.side, np.array([1, -1], dtype=np.int8))
    for r in np.flatnonzero(bad_side)[:MAX_EXAMPLES]:
        report.add("error", "bad_side", f"side {int(c.side[r])} must be +1 or -1 for {KIND_NAMES[int(c.kind[r])]}",
                   path=p, row=offset + int(r), field="side")
    unsided = np.isin(c.kind, _UNSIDED) & (c.side != 0)
    for r in np.flatnonzero(unsided)[:MAX_EXAMPLES]:
        report.add("error", "bad_side", f"side {int(c.side[r])} must be 0 for {KIND_NAMES[int(c.kind[r])]}",
                   path=p, row=offset + int(r), field="side")
    for name, arr in (("price", c.price), ("qty", c.qty)):
        nonfinite = ~np.isfinite(arr)
        for r in np.flatnonzero(nonfinite)[:MAX_EXAMPLES]:
            report.add("error", "non_finite", f"{name} is {arr[r]}", path=p, row=offset + int(r), field=name)
        negative = np.isfinite(arr) & (arr < 0)
        if name == "price":
            negative &= c.kind != Kind.FUNDING  # a funding rate may be negative
        for r in np.flatnonzero(negative)[:MAX_EXAMPLES]:
            report.add("error", "negative", f"{name} {arr[r]} is negative", path=p, row=offset + int(r), field=name)
    zero_price = priced & np.isfinite(c.price) & (c.price <= 0)
    for r in np.flatnonzero(zero_price)[:MAX_EXAMPLES]:
        report.add("error", "non_positive_price", f"price {c.price[r]} must be > 0 for {KIND_NAMES[int(c.kind[r])]}",
                   path=p, row=offset + int(r), field="price")
    ok_asset = ~bad_asset
    check = priced & ok_asset & np.isfinite(c.price) & (c.price > 0)
    if check.any():
        a = c.asset[check]
        ticks = c.price[check] / tick[a]
        off = np.abs(ticks - np.round(ticks)) > 1e-6 + 1e-12 * np.abs(ticks)
        idx = np.flatnonzero(check)[off]
        for r in idx[:MAX_EXAMPLES]:
            report.add("error", "off_tick", f"price {c.price[r]!r} is not a multiple of tick_size "
                                            f"{tick[c.asset[r]]!r}", path=p, row=offset + int(r), field="price")
        if idx.size > MAX_EXAMPLES:
            report.counts["error:off_tick"] += int(idx.size - MAX_EXAMPLES)
    gaps = np.flatnonzero(c.kind == Kind.GAP)
    for r in gaps:
        report.add("warning", "gap", "feed gap (GAP event): book unreliable until the next snapshot", path=p,
                   row=offset + int(r), field="kind")
    depth = np.flatnonzero((c.kind == Kind.DEPTH) & ok_asset & (c.seq >= 0))
    if depth.size:
        seq_regress = _seq_regressions(c.asset[depth], c.seq[depth], last_seq)
        for j in seq_regress[:MAX_EXAMPLES]:
            r = depth[j]
            report.add("warning", "seq_regress", f"DEPTH seq {int(c.seq[r])} goes back for asset {int(c.asset[r])}",
                       path=p, row=offset + int(r), field="seq")
    return int(ts[-1])


def _seq_regressions(asset: np.ndarray, seq: np.ndarray, last_seq: np.ndarray) -> list[int]:
    """Indices j where seq[j] is below the previous DEPTH seq of the same asset (carried in last_seq)."""
    out: list[np.ndarray] = []
    for a in np.unique(asset):
        idx = np.flatnonzero(asset == a)
        s = seq[idx]
        prev = np.concatenate(([last_seq[a]], s[:-1]))
        out.append(idx[s < prev])
        last_seq[a] = s[-1]
    return sorted(int(j) for arr in out for j in arr)
