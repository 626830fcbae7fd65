"""The JupyterLite build: the tutorials in a browser tab, on Pyodide, from static files.

``python -m lite`` (or ``make lite``) builds the site; see ``lite/README.md``.
"""


class LiteBuildError(RuntimeError):
    """The site cannot be built as asked; the message names what is missing and the fix."""
