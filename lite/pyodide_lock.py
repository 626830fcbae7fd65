"""Rewriting Pyodide's lock file so the site's own wheels are what Pyodide loads.

Pyodide (and micropip, which prefers the lock file) installs a package named in
``pyodide-lock.json`` from the file that entry names, relative to the lock file. The lock file
in the ``pyodide`` npm package names Pyodide's whole distribution, which the npm package does
not hold (it is on Pyodide's CDN). The rewrite:

- gives every wheel the site serves an entry pointing at that wheel (its version, hash,
  imports and the requirements that apply in Pyodide);
- leaves every other entry out, so the site never names a file it does not have, and nothing
  is fetched from another address;
- checks that every requirement of every entry is in the lock, at a version that satisfies it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from packaging.utils import canonicalize_name

from lite import LiteBuildError
from lite.wheels import WheelInfo

Lock = dict[str, Any]


def requested_extras(wheels: Iterable[WheelInfo]) -> dict[str, frozenset[str]]:
    """Each served package's extras that some other served package asks for."""
    extras: dict[str, set[str]] = {}
    wheels = list(wheels)
    changed = True
    while changed:  # an extra's requirement can ask for another package's extra
        changed = False
        for wheel in wheels:
            for requirement in wheel.dependencies(frozenset(extras.get(wheel.name, ()))):
                wanted = extras.setdefault(canonicalize_name(requirement.name), set())
                if not set(requirement.extras) <= wanted:
                    wanted.update(requirement.extras)
                    changed = True
    return {name: frozenset(values) for name, values in extras.items()}


def rewrite_lock(npm_lock: Lock, wheels: list[WheelInfo]) -> Lock:
    """The lock file for the site: exactly ``wheels``, served from beside it."""
    lock = copy.deepcopy(npm_lock)
    packages: dict[str, Any] = {}
    extras = requested_extras(wheels)
    for wheel in wheels:
        requirements = wheel.dependencies(extras.get(wheel.name, frozenset()))
        packages[wheel.name] = {
            "name": wheel.name,
            "version": wheel.version,
            "file_name": wheel.path.name,
            "install_dir": "site",
            "sha256": wheel.sha256,
            "package_type": "package",
            "imports": list(wheel.imports),
            "depends": sorted({canonicalize_name(r.name) for r in requirements}),
            "unvendored_tests": False,
        }
    lock["packages"] = packages
    _check(lock, wheels, extras)
    return lock


def _check(lock: Lock, wheels: list[WheelInfo], extras: dict[str, frozenset[str]]) -> None:
    by_name = {canonicalize_name(key): entry for key, entry in lock["packages"].items()}
    problems = []
    for wheel in wheels:
        for requirement in wheel.dependencies(extras.get(wheel.name, frozenset())):
            entry = by_name.get(canonicalize_name(requirement.name))
            if entry is None:
                problems.append(f"{wheel.name} needs {requirement}, which the site does not have")
            elif not requirement.specifier.contains(entry["version"], prereleases=True):
                problems.append(
                    f"{wheel.name} needs {requirement}, the site has {entry['version']}"
                )
    if problems:
        raise LiteBuildError(
            "The site's Pyodide lock file is incomplete:\n  "
            + "\n  ".join(problems)
            + "\nAdd the missing wheels to lite/requirements.txt (pure Python, or a package whose "
            "compiled part is an optional speedup: lite/build.py's SPEEDUPS_ONLY), or give "
            "them with --extra-wheel."
        )
