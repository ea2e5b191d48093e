"""The example notebook runs, and shows scores as HTML and plots as PNG images."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "example.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook, executed by a fresh kernel in an empty directory."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def outputs(notebook: Any) -> list[Any]:
    """Every output of every code cell, in order."""
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def test_the_notebook_is_stored_without_outputs() -> None:
    """The notebook in docs/ holds code, not the outputs of a run (they would go stale)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [cell.outputs for cell in code] == [[] for _ in code]
    assert {cell.execution_count for cell in code} == {None}


def test_the_notebook_runs_without_errors(executed: Any) -> None:
    """Every code cell ran, none raised, and nothing was written to stderr."""
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert [o for o in outputs(executed) if o.output_type == "error"] == []
    assert [o.text for o in outputs(executed) if o.get("name") == "stderr"] == []


def test_the_notebook_shows_a_score_and_a_table_as_html(executed: Any) -> None:
    """One HealthScore and one ScoreTable are shown as their HTML."""
    html = [o.data["text/html"] for o in outputs(executed) if "text/html" in o.get("data", {})]
    scores = [page for page in html if 'class="customer-health-score"' in page]
    tables = [page for page in html if 'class="customer-health-table"' in page]
    assert len(scores) == 1
    assert len(tables) == 1
    assert "value / expected" in scores[0]
    assert "showing the first 10 of 300 customers" in tables[0]


def test_the_notebook_shows_four_plots_as_png(executed: Any) -> None:
    """The three kinds of plot (the distribution twice) are shown as PNG images."""
    images = [o.data["image/png"] for o in outputs(executed) if "image/png" in o.get("data", {})]
    assert len(images) == 4
    for image in images:
        assert base64.b64decode(image).startswith(PNG_SIGNATURE)
