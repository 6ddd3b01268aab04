"""Hand-built two-venue books and parameters of the arbitrage tests."""
from arbkit.core.schema import Instrument

# perpetuals: the arbitrage sells what it does not hold (spot and outcome tokens may not go short by default)
INSTS = [Instrument("va", "X", 0.5, 0.25, contract_type="linear_perp"),
         Instrument("vb", "X", 0.5, 0.25, contract_type="linear_perp")]
# A: 99.5 / 100.0   B: 100.5 / 101.0   -> buy A at 100, sell B at 100.5: up = 0.5 / 99.75 = 50.1 bps
IMAGES = [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, 99.5, 5.0, 0), (100, 0, 1, 1, 98.0, 5.0, 0),
          (100, 0, 1, -1, 100.0, 5.0, 0), (100, 0, 1, -1, 100.5, 5.0, 0),
          (100, 1, 5, 0, 0.0, 0.0, 0), (100, 1, 1, 1, 100.5, 5.0, 0), (100, 1, 1, 1, 100.0, 5.0, 0),
          (100, 1, 1, -1, 101.0, 5.0, 0), (100, 1, 1, -1, 101.5, 5.0, 0)]
PARAMS = {"asset_a": 0, "asset_b": 1, "entry_bps": 40.0, "tp_bps": 30.0, "stop_loss_bps": 200.0,
          "time_limit_s": 60.0, "order_size": 1.0, "net_of_fees": 0}
MS = 1_000_000
