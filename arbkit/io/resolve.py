"""Record a binary market's outcome in a recording's manifest: the winner and, optionally, the resolution time.

The manifest is rewritten atomically while the recording's directory lock is held, so a
recorder writing to it at the same time is refused (named) rather than overwritten.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from arbkit.core.errors import ConfigError
from arbkit.io.lock import DirectoryLock
from arbkit.io.manifest import read_manifest, write_manifest


def parse_time_ns(text: str | int) -> int:
    """ns since epoch from an integer (ns) or an ISO-8601 time (UTC when no zone is given)."""
    if isinstance(text, int) or str(text).lstrip("-").isdigit():
        value = int(text)
        if value < 0:
            raise ConfigError(f"--at {text}: a time must be >= 0 ns since epoch")
        return value
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--at {text!r}: give ns since epoch or an ISO time like 2025-12-11T11:15:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def resolve_recording(directory: str | Path, winner: str, *, at: str | int | None = None,
                      market: str | None = None) -> list[str]:
    """Set ``winner`` (an outcome name, any case) and ``at`` (resolution time) on ``market``'s instruments.

    ``market`` may be left out when the recording holds one binary market. Returns the keys of
    the instruments changed; a ConfigError says what is wrong (nothing is written then).
    """
    directory = Path(directory)
    with DirectoryLock(directory, "arbkit resolve"):
        manifest = read_manifest(directory)
        markets: dict[str, list[int]] = {}
        for a, inst in enumerate(manifest.instruments):
            if inst.contract_type == "binary_outcome":
                markets.setdefault(inst.market_id or inst.symbol, []).append(a)
        if not markets:
            raise ConfigError(f"{directory}: the recording has no binary_outcome instruments to resolve")
        if market is None:
            if len(markets) > 1:
                raise ConfigError(f"{directory}: {len(markets)} markets; name one with --market: "
                                  f"{', '.join(sorted(markets))}")
            market = next(iter(markets))
        if market not in markets:
            raise ConfigError(f"{directory}: no market {market!r}; markets: {', '.join(sorted(markets))}")
        assets = markets[market]
        outcomes = {manifest.instruments[a].outcome.lower(): manifest.instruments[a].outcome for a in assets}
        if winner.lower() not in outcomes:
            raise ConfigError(f"{directory}: winner {winner!r} is not an outcome of {market}; outcomes: "
                              f"{', '.join(sorted(outcomes.values())) or '(none named)'}")
        ts = None if at is None else parse_time_ns(at)
        name = outcomes[winner.lower()]
        for a in assets:
            inst = manifest.instruments[a]
            manifest.instruments[a] = dataclasses.replace(
                inst, winner=name, resolution_ts=inst.resolution_ts if ts is None else ts)
        write_manifest(directory, manifest)
    return [manifest.instruments[a].key for a in assets]
