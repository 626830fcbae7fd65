"""Rewriting Pyodide's lock file so the site's own wheels are what Pyodide loads.

Pyodide (and micropip, which prefers the lock file) installs a package named in
``pyodide-lock.json`` from the file that entry names, relative to the lock file. The lock file
in the ``pyodide`` npm package names Pyodide's whole distribution, which the npm package does
not hold. The rewrite:

- gives every wheel the site serves an entry pointing at that wheel (its version, hash,
  imports and the requirements that apply in Pyodide);
- points every other entry at Pyodide's CDN (the default), or leaves it out (offline), so an
  offline site never names a file it does not have;
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


def rewrite_lock(npm_lock: Lock, wheels: list[WheelInfo], *, offline: bool, cdn_url: str) -> Lock:
    """The lock file for the site: ``wheels`` served from beside it, the rest of Pyodide's
    distribution from ``cdn_url`` (or left out when ``offline``)."""
    lock = copy.deepcopy(npm_lock)
    served = {wheel.name: wheel for wheel in wheels}
    packages: dict[str, Any] = {}
    if not offline:
        for key, entry in lock["packages"].items():
            if canonicalize_name(key) not in served:
                packages[key] = {
                    **entry,
                    "file_name": f"{cdn_url.rstrip('/')}/{entry['file_name']}",
                }
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
    served = {wheel.name for wheel in wheels}
    for key, entry in lock["packages"].items():
        if canonicalize_name(key) in served:
            continue  # checked above, with versions
        missing = [d for d in entry["depends"] if canonicalize_name(d) not in by_name]
        if missing:
            problems.append(f"{key} depends on {', '.join(missing)}, missing from the lock file")
    if problems:
        raise LiteBuildError(
            "The site's Pyodide lock file is incomplete:\n  "
            + "\n  ".join(problems)
            + "\nAdd the missing wheels to lite/requirements.txt, or give them with "
            "--extra-wheel (an offline build needs a Pyodide build of cryptography: "
            "Pyodide publishes it on its CDN only)."
        )
