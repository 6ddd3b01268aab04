"""The dashboard in headless Chromium: its panels render a real paper run's numbers; a screenshot is saved."""
import json
import shutil
import socket
import subprocess

import pytest

from arbkit.live.dashboard import serve
from arbkit.live.paper import PaperRun
from arbkit.live.record import VenueSpec
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from arbkit.run.config import RunConfig
from helpers.paths import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--hide-scrollbars"]
RUN = {"strategy": "touch_mm", "strategy_options": {"interval_ms": 50.0},
       "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
       "latency": {"entry": 2_000_000, "response": 1_000_000}, "fill": {"queue": "power"}, "seed": 11}


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """A short real paper run against the local server replaying the bundled Binance capture."""
    import arbkit
    from helpers.paths import BUNDLED

    out = tmp_path_factory.mktemp("dash") / "run"
    cfg = RunConfig.from_dict(RUN)
    rec = arbkit.load(BUNDLED)
    cfg.end_ns = rec.manifest.start_ns + 10**9
    cfg.replay(rec)  # load the compiled engine before the live run starts
    frames, snap = binance_frames(ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz")
    with ReplayServer(frames, snapshot=snap, delay_s=0.001, batch=2) as srv:
        run = PaperRun(RunConfig.from_dict(RUN), [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url, rest=srv.http)],
                       out, duration_s=7.0, flush_s=0.2, state_every_s=0.3)
        result = run.run()
    assert result is not None and len(result.fills) > 0
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_serves_the_run_files(paper_run):
    import urllib.request

    port = _free_port()
    server = serve(paper_run, port, background=True)
    try:
        state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state"))
        trades = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/trades?n=5"))
        pnl = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/pnl"))
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
    finally:
        server.shutdown()
    assert state == json.loads((paper_run / "live_state.json").read_text())
    assert len(trades) == 5 and trades[-1] == json.loads((paper_run / "trades.jsonl").read_text().splitlines()[-1])
    assert len(pnl) >= 3 and "pnl_chart" in page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make test installs it as root)")
def test_dashboard_renders_real_data_in_headless_chromium(paper_run, tmp_path):
    port = _free_port()
    server = serve(paper_run, port, background=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        dom = subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=6000", "--dump-dom", url], capture_output=True,
                             text=True, timeout=120).stdout
        shot = tmp_path / "dashboard.png"
        subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=6000", "--window-size=1400,1000",
                        f"--screenshot={shot}", url], capture_output=True, timeout=120)
    finally:
        server.shutdown()
    state = json.loads((paper_run / "live_state.json").read_text())
    trades = (paper_run / "trades.jsonl").read_text().splitlines()
    assert 'data-loaded="1"' in dom  # the page fetched and rendered the API
    assert '<span class="v" id="status">finished</span>' in dom
    assert "binance-usdm:BTCUSDT" in dom and "touch_mm (seed 11)" in dom
    assert f'{state["fills"]} / ' in dom
    import re
    assert len(re.findall(r'<tr class="trade" data-k="\d+">', dom)) == min(50, len(trades))
    assert "<path d=\"M" in dom  # the PnL chart has a line
    assert "messages" in dom and f"{state['feed']['messages']:,}" in dom
    # the screenshot: a real PNG of the page, not a blank one
    import matplotlib.image as mpimg
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(shot)
    assert img.shape[0] >= 900 and img.shape[1] >= 1300 and img[..., :3].std() > 0.05
    keep = ROOT / "tests" / "artifacts"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / "dashboard.png")
