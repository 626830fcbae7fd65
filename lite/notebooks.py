"""The install cell every notebook starts with: it installs melange-lab in a browser tab
(JupyterLite, where ``sys.platform`` is ``"emscripten"``) and does nothing elsewhere, so one
set of notebooks serves JupyterLab, Binder and Lite.

``python -m lite.notebooks [NOTEBOOK ...]`` adds the cell to notebooks that lack it (default:
the tutorials); the build adds it to the exercises' student versions it serves.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INSTALL_SOURCE = [
    "# In a browser tab (JupyterLite) this installs melange-lab; elsewhere it does nothing.\n",
    "import sys\n",
    "\n",
    'if sys.platform == "emscripten":\n',
    "    %pip install melange-lab\n",
    "    import melange_lab  # names anything the tab is missing, and why",
]
#: earlier forms of the install cell, replaced by the current one where a notebook has them
EARLIER_INSTALL_SOURCES = [[*INSTALL_SOURCE[:4], "    %pip install melange-lab"]]


def install_cell(cell_id: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": list(INSTALL_SOURCE),
    }


def has_install_cell(notebook: dict[str, Any]) -> bool:
    """True when the notebook's first cell is the install cell (a notebook may add lines for
    Lite after it, as tutorial 10 does)."""
    cells = notebook.get("cells", [])
    if not cells:
        return False
    source = cells[0].get("source", "")
    text = source if isinstance(source, str) else "".join(source)
    return cells[0].get("cell_type") == "code" and text.startswith("".join(INSTALL_SOURCE))


def add_install_cell(path: Path) -> bool:
    """Puts the install cell first in the notebook at ``path`` (or brings an earlier form of
    it up to date, keeping any lines a notebook added after it); False when it was there.

    The notebook is written as Jupyter writes it (indent 1, sorted keys), so the rest of the
    file stays byte for byte as it was.
    """
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    if has_install_cell(notebook):
        return False
    if json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n" != text:
        raise ValueError(f"{path} is not a notebook saved by Jupyter (indent 1); resave it.")
    cells = notebook.setdefault("cells", [])
    first = "".join(cells[0].get("source", "")) if cells else ""
    earlier = ["".join(form) for form in EARLIER_INSTALL_SOURCES]
    if (
        cells
        and cells[0].get("cell_type") == "code"
        and any(first == form or first.startswith(form + "\n") for form in earlier)
    ):
        rest = first.split("\n", len(INSTALL_SOURCE) - 1)[len(INSTALL_SOURCE) - 1 :]
        source = "\n".join(["".join(INSTALL_SOURCE), *rest])
        cells[0]["source"] = source.splitlines(keepends=True)
    else:
        cell_id = f"{path.stem.split('-')[0].split('_')[0]}-lite"
        cells.insert(0, install_cell(cell_id))
    path.write_text(
        json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return True


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        paths = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
    for path in paths:
        if add_install_cell(path):
            print(f"added the install cell to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
