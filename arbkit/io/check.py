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
from arbkit.io.read_checks import PRICED_KINDS, SIGNED_PRICE_KINDS, TICK_TOLERANCE, UNSIDED_KINDS
from arbkit.core.schema import KIND_NAMES, Kind

MAX_EXAMPLES = 20


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

    @property
    def error_count(self) -> int:
        """Every error found (``errors`` keeps only the first examples of each check)."""
        return sum(v for k, v in self.counts.items() if k.startswith("error:"))

    @property
    def warning_count(self) -> int:
        """Every warning found."""
        return sum(v for k, v in self.counts.items() if k.startswith("warning:"))

    def add_rows(self, severity: str, check: str, rows: np.ndarray, message: Any, *, path: str | Path, offset: int,
                 field: str) -> None:
        """Record a problem on each of ``rows`` (indices into a chunk starting at ``offset``): every row counted,
        the first examples kept with ``message(row)``."""
        if len(rows) == 0:
            return
        key = f"{severity}:{check}"
        seen = self.counts.get(key, 0)
        self.counts[key] = seen + len(rows)
        for r in rows[:max(0, MAX_EXAMPLES - seen)]:
            self.issues.append(Issue(severity, check, message(int(r)), str(path), offset + int(r), field))

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
                "errors": self.error_count, "warnings": self.warning_count,
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
    books = _Books(report, BookScanner(tick), insts) if check_books and n_assets else None
    prev_ts = np.iinfo(np.int64).min
    last_seq = np.full(max(n_assets, 1), -1, dtype=np.int64)
    by_kind = np.zeros(256, dtype=np.int64)
    total = 0
    for part in manifest.parts:
        p = path / part.path
        if not p.is_file():
            report.add("error", "missing_part", "part listed in manifest.json is missing", path=p)
            books = _stop(books, p, "a part is missing")
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
            books = _stop(books, p, "a part cannot be read")
            continue
        except (pa.ArrowInvalid, OSError) as exc:
            report.add("error", "corrupt_part", f"corrupt or truncated Parquet file ({exc})", path=p)
            books = _stop(books, p, "a part cannot be read")
            continue
        if pf.metadata.num_rows != part.rows:
            report.add("error", "row_count", f"part has {pf.metadata.num_rows} rows, manifest.json says {part.rows}",
                       path=p, field="rows")
        if books is not None:
            books.part_starts.append((total, str(p)))
        offset = 0
        try:
            for batch in pf.iter_batches(batch_size=1 << 16):
                cols = EventColumns.from_arrow(batch)
                errors_before, listed_before = report.error_count, len(report.issues)
                prev_ts = _check_rows(report, cols, p, offset, prev_ts, n_assets, tick, last_seq, by_kind)
                if books is not None and report.error_count > errors_before:
                    rows = [i.row for i in report.issues[listed_before:] if i.severity == "error" and i.row is not None]
                    first = f"row {min(rows)}" if rows else "a row of this batch"
                    books = _stop(books, p, f"{first} has errors and cannot be applied to a book; books are not "
                                            "checked from this row on", row=offset)
                if books is not None:
                    books.feed(cols, total + offset)
                offset += len(cols)
        except (pa.ArrowInvalid, OSError) as exc:
            report.add("error", "corrupt_part", f"corrupt or truncated Parquet data after row {offset} ({exc})",
                       path=p, row=offset)
            books = _stop(books, p, "a part cannot be read")
        total += offset
    if books is not None:
        books.finish()
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


class _Books:
    """The crossed-book check: the books rebuilt row by row, every crossing after an update an error."""

    def __init__(self, report: ValidationReport, scanner: BookScanner, insts: list) -> None:
        self.report, self.scanner, self.insts = report, scanner, insts
        self.part_starts: list[tuple[int, str]] = []

    def feed(self, cols: EventColumns, global_row: int) -> None:
        """Apply a chunk that starts at ``global_row`` of the recording."""
        self.scanner.rows = global_row
        before = len(self.scanner.crossed_rows)
        self.scanner.feed(cols)
        self._report(before)

    def finish(self) -> None:
        """The last message of the data; every crossing counted (only the first are listed)."""
        before = len(self.scanner.crossed_rows)
        self.scanner.finish()
        self._report(before)
        key = "error:crossed_book"
        if self.scanner.n_crossed > self.report.counts.get(key, 0):
            self.report.counts[key] = self.scanner.n_crossed

    def _report(self, before: int) -> None:
        for j in range(before, len(self.scanner.crossed_rows)):
            global_row, asset = self.scanner.crossed_rows[j], self.scanner.crossed_assets[j]
            start, part = max((s for s in self.part_starts if s[0] <= global_row), key=lambda s: s[0])
            self.report.add("error", "crossed_book", f"{self.insts[asset].key} book crossed after this update "
                                                     "(best bid >= best ask)", path=part, row=global_row - start,
                            field="price")


def _stop(books: _Books | None, path: Path, why: str, row: int | None = None) -> None:
    """End the crossed-book check: after a missing or unreadable part, or bad rows, the books are unknown
    (checking on would report crossings that are not in the data). The message cut off is not checked."""
    if books is not None:
        books.report.add("warning", "books_unchecked", f"crossed-book check stopped here: {why}", path=path, row=row)
    return None


def _check_rows(report: ValidationReport, c: EventColumns, p: Path, offset: int, prev_ts: int, n_assets: int,
                tick: np.ndarray, last_seq: np.ndarray, by_kind: np.ndarray) -> int:
    n = len(c)
    if n == 0:
        return prev_ts
    np.add.at(by_kind, c.kind.astype(np.int64), 1)

    def rows(severity: str, check: str, mask: np.ndarray, message, field: str) -> None:
        report.add_rows(severity, check, np.flatnonzero(mask), message, path=p, offset=offset, field=field)

    ts = c.ts_local
    back = np.concatenate(([ts[0] < prev_ts], ts[1:] < ts[:-1]))
    rows("error", "unsorted", back, lambda r: f"ts_local {int(ts[r])} is before the previous row's "
                                              f"{int(ts[r - 1]) if r else prev_ts}", "ts_local")
    rows("error", "unknown_kind", ~np.isin(c.kind, np.array(list(KIND_NAMES), dtype=np.uint8)),
         lambda r: f"kind {int(c.kind[r])} is not one of {sorted(KIND_NAMES.values())}", "kind")
    bad_asset = (c.asset < 0) | (c.asset >= n_assets)
    rows("error", "unknown_asset", bad_asset, lambda r: f"asset {int(c.asset[r])} is not one of the {n_assets} instruments",
         "asset")
    priced = np.isin(c.kind, PRICED_KINDS)
    rows("error", "bad_side", priced & ~np.isin(c.side, np.array([1, -1], dtype=np.int8)),
         lambda r: f"side {int(c.side[r])} must be +1 or -1 for {KIND_NAMES[int(c.kind[r])]}", "side")
    rows("error", "bad_side", np.isin(c.kind, UNSIDED_KINDS) & (c.side != 0),
         lambda r: f"side {int(c.side[r])} must be 0 for {KIND_NAMES[int(c.kind[r])]}", "side")
    for name, arr in (("price", c.price), ("qty", c.qty)):
        rows("error", "non_finite", ~np.isfinite(arr), lambda r, arr=arr, name=name: f"{name} is {arr[r]}", name)
        negative = np.isfinite(arr) & (arr < 0)
        if name == "price":
            negative &= ~np.isin(c.kind, SIGNED_PRICE_KINDS)  # a funding rate may be negative
        rows("error", "negative", negative, lambda r, arr=arr, name=name: f"{name} {arr[r]} is negative", name)
    rows("error", "non_positive_price", priced & np.isfinite(c.price) & (c.price <= 0),
         lambda r: f"price {c.price[r]} must be > 0 for {KIND_NAMES[int(c.kind[r])]}", "price")
    check = priced & ~bad_asset & np.isfinite(c.price) & (c.price > 0)
    if check.any():
        ticks = c.price[check] / tick[c.asset[check]]
        off = np.zeros(n, dtype=bool)
        off[np.flatnonzero(check)] = np.abs(ticks - np.round(ticks)) > TICK_TOLERANCE + 1e-12 * np.abs(ticks)
        rows("error", "off_tick", off, lambda r: f"price {c.price[r]!r} is not a multiple of tick_size "
                                                 f"{tick[c.asset[r]]!r}", "price")
    rows("warning", "gap", c.kind == Kind.GAP, lambda r: "feed gap (GAP event): book unreliable until the next snapshot",
         "kind")
    depth = np.flatnonzero((c.kind == Kind.DEPTH) & ~bad_asset & (c.seq >= 0))
    if depth.size:
        regress = np.zeros(n, dtype=bool)
        regress[depth[_seq_regressions(c.asset[depth], c.seq[depth], last_seq)]] = True
        rows("warning", "seq_regress", regress, lambda r: f"DEPTH seq {int(c.seq[r])} goes back for asset "
                                                          f"{int(c.asset[r])}", "seq")
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
