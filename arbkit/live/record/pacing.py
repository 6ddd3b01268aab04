"""How fast the recorder may knock on a venue: reconnect backoff and a REST token bucket.

* :class:`Backoff`: the n-th reconnect in a row waits ``min(cap, base * 2**n * U(0.5, 1))``
  seconds, so delays never shrink while connections keep dying young and end at ``cap``. It
  starts over only when a connection has stayed healthy (received data for ``healthy_s``),
  never merely because a handshake succeeded.
* :class:`TokenBucket`: REST snapshot requests per venue, ``rate`` a second with bursts of
  ``burst``. The defaults (:data:`REST_LIMITS`) spend a quarter of the venue's documented
  request-weight budget on depth snapshots.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

from arbkit.core.errors import ConfigError


class Backoff:
    """Reconnect delays for one venue connection (see the module doc)."""

    def __init__(self, base_s: float, cap_s: float, *, rng: random.Random | None = None) -> None:
        if not (0 < base_s <= cap_s < math.inf):
            raise ConfigError(f"record: backoff needs 0 < base <= cap seconds, got base {base_s!r}, cap {cap_s!r}")
        self.base_s, self.cap_s = float(base_s), float(cap_s)
        self.rng = rng or random.Random()
        self.failures = 0  # reconnects since the last healthy connection
        self.delays: list[float] = []  # every delay handed out (the status line and tests read it)

    def next_delay(self) -> float:
        """The wait before the next connection attempt (one more failure in a row)."""
        n = min(self.failures, 62)
        delay = min(self.cap_s, self.base_s * 2.0 ** n * self.rng.uniform(0.5, 1.0))
        self.failures += 1
        self.delays.append(delay)
        del self.delays[:-1000]
        return delay

    def healthy(self) -> None:
        """A connection stayed up and delivered data long enough: the next failure starts at ``base`` again."""
        self.failures = 0


@dataclass(frozen=True)
class RestLimit:
    """A venue's documented REST budget for depth snapshots: request weight per minute, weight per snapshot."""

    weight_per_minute: float
    snapshot_weight: float

    def rate_per_s(self, share: float = 0.25) -> float:
        """Snapshots a second that spend ``share`` of the budget."""
        return share * self.weight_per_minute / self.snapshot_weight / 60.0


# Binance: spot 6000 weight/min, GET /api/v3/depth limit=1000 weighs 50; USD-M and COIN-M
# 2400 weight/min, /fapi/v1/depth and /dapi/v1/depth limit=1000 weigh 20.
REST_LIMITS: dict[str, RestLimit] = {
    "binance": RestLimit(6000, 50),
    "binance-spot": RestLimit(6000, 50),
    "binance-usdm": RestLimit(2400, 20),
    "binance-coinm": RestLimit(2400, 20),
}
DEFAULT_REST_LIMIT = RestLimit(1200, 10)  # a venue not listed: 0.5 snapshots/s
DEFAULT_REST_BURST = 10  # enough to sync ten symbols at once


class TokenBucket:
    """``await bucket.take()`` before each request: at most ``burst`` at once, then ``rate`` a second."""

    def __init__(self, rate: float, burst: int) -> None:
        check_rest_pacing(rate, burst)
        self.rate, self.burst = float(rate), int(burst)
        self.tokens = float(burst)
        self._t = time.monotonic()
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self.taken = 0

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self._t) * self.rate)
        self._t = now

    def pause(self, seconds: float) -> None:
        """No request for ``seconds`` (the venue said 429 / 418 with Retry-After); the bucket empties."""
        self._refill()
        self.tokens = 0.0
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def take(self) -> None:
        """Wait for a token and spend it (requests queue in order)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                wait = self._paused_until - time.monotonic()
                if wait <= 0:
                    self._refill()
                    if self.tokens >= 1.0:
                        self.tokens -= 1.0
                        self.taken += 1
                        return
                    wait = (1.0 - self.tokens) / self.rate
                await asyncio.sleep(wait)


def check_rest_pacing(rate: float | None, burst: int | None, where: str = "record") -> None:
    """ConfigError unless ``rate`` (requests/s) is positive and finite and ``burst`` a whole number >= 1 (None: default)."""
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf):
        raise ConfigError(f"{where}: rest_rate (--rest-rate) must be a positive number of requests a second, got {rate!r}")
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
        raise ConfigError(f"{where}: rest_burst (--rest-burst) must be a whole number >= 1, got {burst!r}")


def rest_bucket(venue: str, rate: float | None = None, burst: int | None = None) -> TokenBucket:
    """The REST snapshot bucket of ``venue``: the given rate / burst, else the venue's defaults."""
    limit = REST_LIMITS.get(venue, DEFAULT_REST_LIMIT)
    return TokenBucket(limit.rate_per_s() if rate is None else rate, DEFAULT_REST_BURST if burst is None else burst)
