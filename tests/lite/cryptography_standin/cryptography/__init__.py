"""A TEST-ONLY stand-in for ``cryptography``, for the offline Lite site the tests build.

cryptography exists for Pyodide only in Pyodide's own distribution (its CDN), which the
offline test cannot reach. This package offers only the names moto and melange-lab's SNS
signing use, and its "signatures" are SHA-256 digests, not RSA: it must never be served by a
real site (``python -m lite`` never includes it; tests/lite passes it with --extra-wheel).
"""

__version__ = "47.0.0+standin"
