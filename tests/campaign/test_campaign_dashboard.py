"""The campaign page in headless Chromium: run ids, verdicts, report links and the maker's internals charts."""
import json
import re
import shutil
import socket
import subprocess
import urllib.request

import pytest

from arbkit.campaign.dashboard import serve
from arbkit.campaign.orchestrator import init_campaign

from campaign.campaigns import small, write_spec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("dash")
    camp = init_campaign(path / "c", write_spec(path, small()))
    assert camp.run() == "DONE"
    return camp.dir.path


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_serves_status_internals_and_reports(campaign_dir):
    port = _free_port()
    server = serve(campaign_dir, port, background=True)
    base = f"http://127.0.0.1:{port}"
    try:
        status = json.load(urllib.request.urlopen(f"{base}/api/campaign"))
        rid = status["history"][-1]["run_id"]
        inner = json.load(urllib.request.urlopen(f"{base}/api/internals?run={rid}"))
        report = urllib.request.urlopen(f"{base}/reports/{rid}.md").read().decode()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/api/internals?run=../state")
    finally:
        server.shutdown()
    history = json.loads((campaign_dir / "history.json").read_text())
    assert status["history"] == history and status["state"] == "DONE"
    assert inner == json.loads((campaign_dir / "runs" / f"{rid}.internals.json").read_text())
    assert set(inner) == {"ts", "mid", "reservation", "spread", "skew", "sigma", "q"} and 0 < len(inner["ts"]) <= 600
    assert report == (campaign_dir / "reports" / f"{rid}.md").read_text() and err.value.code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make test installs it as root)")
def test_campaign_page_in_headless_chromium(campaign_dir, tmp_path):
    port = _free_port()
    server = serve(campaign_dir, port, background=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        dom = subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=5000", "--dump-dom", url], capture_output=True,
                             text=True, timeout=120).stdout
        shot = tmp_path / "campaign.png"
        subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=5000", "--window-size=1400,1000",
                        f"--screenshot={shot}", url], capture_output=True, timeout=120)
    finally:
        server.shutdown()
    history = json.loads((campaign_dir / "history.json").read_text())
    assert 'data-loaded="1"' in dom
    rows = re.findall(r'<tr class="run[^"]*" data-run="([^"]+)">.*?<td class="l verdict (\w+)">', dom)
    assert rows == [(h["run_id"], h["verdict"]) for h in history]
    for h in history:
        assert f'href="/reports/{h["run_id"]}.md"' in dom
    assert '<span class="v" id="state">DONE</span>' in dom
    last = history[-1]["run_id"]
    assert f'<span id="internals_run">{last}</span>' in dom
    for chart in ("chart_price", "chart_spread", "chart_skew", "chart_sigma"):
        assert re.search(rf'<svg id="{chart}"[^>]*><path d="M', dom), chart
    import matplotlib.image as mpimg
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(shot)
    assert img.shape[0] >= 900 and img.shape[1] >= 1300 and img[..., :3].std() > 0.05
