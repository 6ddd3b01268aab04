"""The README's and docs' Python examples run as written (from the repository root); their links and the KPI
table stay true."""
import re
import subprocess
import sys

import pytest

from arbkit.kpi import KPI_DEFINITIONS
from arbkit.kpi.definitions import OPS_KPI_DEFINITIONS
from helpers.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(page, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))]


@pytest.mark.parametrize("page,index,block", BLOCKS,
                         ids=[f"{p.relative_to(ROOT)}[{i}]" for p, i, _ in BLOCKS])
def test_python_block_runs(page, index, block, tmp_path):
    script = tmp_path / f"{page.stem}_{index}.py"
    script.write_text(block)
    out = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]


def test_readme_has_its_example_and_the_docs_theirs():
    pages = {p.relative_to(ROOT).as_posix() for p, _, _ in BLOCKS}
    assert {"README.md", "docs/strategies.md", "docs/kpis.md", "docs/sweeps.md"} <= pages


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_point_at_files(page):
    for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_kpi_page_lists_every_kpi():
    text = (ROOT / "docs" / "kpis.md").read_text()
    for name, (unit, _) in {**KPI_DEFINITIONS, **OPS_KPI_DEFINITIONS}.items():
        assert f"| `{name}` | {unit} |" in text, name


def test_readme_is_a_door_not_a_manual():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 170
