"""The notebooks run top to bottom (nbclient), so they never rot."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.paths import ROOT


@pytest.mark.parametrize("name", ["quickstart.ipynb", "reproduce_a_bug.ipynb"])
def test_notebook_runs(name, tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images or name == "reproduce_a_bug.ipynb"
    nbformat.write(nb, Path(tmp_path) / name)  # the executed copy, for a look after a failure
