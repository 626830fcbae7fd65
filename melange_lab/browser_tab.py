"""What a browser tab (JupyterLite) must have before melange-lab can load.

The Lite site serves melange-lab's dependencies as wheels beside it, and the tab installs them
from there. When one did not arrive (a network filter blocked the download, or the site was
copied to its host in part), importing melange_lab would fail deep inside with a bare
``ModuleNotFoundError``; ``check_dependencies`` names every missing package and says why
first. Outside a browser tab it does nothing.

A tab's working folder (``""`` on ``sys.path``, first) is the page's own storage, where each
look costs a round trip of about 10 ms; ``look_in_the_working_folder_last`` moves it behind
the installed packages, so importing melange-lab (and every module after it) does not ask the
page for each module's name first.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def missing_dependencies(distribution: str = "melange-lab") -> list[str]:
    """The packages ``distribution`` needs, directly or not, that are not installed (in the
    order found). Requirements behind a marker (an extra, another platform) are left out:
    evaluating markers needs ``packaging``, which a tab may not have loaded."""
    seen: set[str] = set()
    missing: list[str] = []
    pending = [distribution]
    while pending:
        name = pending.pop(0)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        for text in requires:
            found = _NAME.match(text.strip())
            if ";" in text or found is None:
                continue
            key = found.group().lower().replace("_", "-")
            if key not in seen:
                seen.add(key)
                pending.append(found.group())
    return missing


def look_in_the_working_folder_last() -> None:
    """In a browser tab, moves the working folder (``""``) to the end of ``sys.path``: a
    notebook's own modules still import, but an installed or standard module is found without
    a round trip to the page's storage (Python tries ``sys.path`` in order, and at the front
    each import of a new top-level module paid one). Elsewhere, does nothing."""
    if sys.platform != "emscripten" or "" not in sys.path:
        return
    sys.path.remove("")
    sys.path.append("")


def check_dependencies() -> None:
    """In a browser tab, raises ``ImportError`` naming the packages melange-lab needs that the
    tab does not have, and why; elsewhere, does nothing."""
    if sys.platform != "emscripten":
        return
    missing = missing_dependencies()
    if missing:
        raise ImportError(
            f"This browser tab is missing {', '.join(missing)}, which melange-lab needs. The "
            "Lite site serves every package as a file beside it (static/pyodide/*.whl), and "
            "those did not arrive: a network filter (a school's or company's firewall or "
            "proxy) may block such downloads, or the site was not copied to its web server "
            "in full. Reload the page; if they are still missing, ask whoever hosts the site "
            "to let static/pyodide/ through or to copy the whole site again (make lite builds "
            "it), or run the course in JupyterLab (make lab) or on Binder."
        )
