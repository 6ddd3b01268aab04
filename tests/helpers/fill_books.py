"""The hand-worked book of the fill tests and a one-call scripted run on it.

Book: tick 0.5, bids 99.5 (2.0) / 99.0 (1.0), asks 100.5 (0.25) / 101.0 (0.5) / 101.5 (1.0).
"""
from arbkit.core.schema import Instrument
from arbkit.run.replay import replay
from helpers.events import make_events
from helpers.script_strategy import script_strategy

INST = [Instrument("sim", "X", 0.5, 0.25, maker_fee_bps=-1.0, taker_fee_bps=5.0, contract_type="linear_perp")]
IMAGE = [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, 99.5, 2.0, 0), (100, 0, 1, 1, 99.0, 1.0, 0),
         (100, 0, 1, -1, 100.5, 0.25, 0), (100, 0, 1, -1, 101.0, 0.5, 0), (100, 0, 1, -1, 101.5, 1.0, 0)]
LIMIT, POST, IOC, MARKET = 0, 1, 2, 3


def run(rows, actions, inst=INST, **kw):
    """Replay ``actions`` (see helpers.script_strategy) on the book followed by ``rows``."""
    strat, params = script_strategy(actions)
    return replay(make_events(IMAGE + rows), strat, params, instruments=inst, **kw)
