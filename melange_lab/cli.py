"""The ``melange-lab`` command: JupyterLab on the tutorials, and the teacher's tools."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from melange_lab import __version__
from melange_lab.arguments import Check, from_text, host, ranged
from melange_lab.errors import InvalidParameter, readable
from melange_lab.tutorials import copy_tutorials, tutorial_names

DEFAULT_FOLDER = "melange-lab-tutorials"
# JupyterLab settings defaults for the lab: no "Jupyter news?" pop-up, no update check.
LAB_SETTINGS = Path(__file__).parent / "lab_settings"


def _lab_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="melange-lab",
        description=(
            "Start JupyterLab on the melange-lab tutorials, with the simulated broker ready. "
            "The tutorials are copied into FOLDER first; a notebook you already have there "
            "is never overwritten. Students: 'melange-lab validate NOTEBOOK' before handing in. "
            "Teachers: 'melange-lab grade --help'. Other programs on a simulated broker: "
            "'melange-lab serve --help'."
        ),
    )
    parser.add_argument(
        "folder",
        nargs="?",
        default=DEFAULT_FOLDER,
        help=f"working folder for your copies of the tutorials (default: ./{DEFAULT_FOLDER})",
    )
    parser.add_argument(
        "--port", type=_port, default=8888, help="port to serve on, 1 to 65535 (default 8888)"
    )
    parser.add_argument(
        "--ip", type=_address, default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument(
        "--token",
        type=_token,
        help="the token the browser must present (default: a random one, printed in the address)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="copy the tutorials and print the command only"
    )
    parser.add_argument("--version", action="version", version=f"melange-lab {__version__}")
    return parser


_PORT = ranged(1, 65_535, whole=True, fix="e.g. --port 8888.")


def _port(text: str) -> int:
    return int(from_text(text, _PORT, int))


def _address(text: str) -> str:
    return str(from_text(text, host, str))


def _token(text: str) -> str:
    return str(from_text(text, _plain_text("printable text without spaces", 1_000), str))


def _plain_text(what: str, longest: int) -> Check:
    def check(parameter: str, value: object) -> str:
        if (
            not isinstance(value, str)
            or not 0 < len(value) <= longest
            or not value.isprintable()
            or any(c.isspace() for c in value)
        ):
            raise InvalidParameter(parameter, value, f"{what}, of 1 to {longest:,} characters")
        return value

    return check


def lab_command(
    folder: Path, port: int, ip: str, no_browser: bool, token: str | None = None
) -> list[str]:
    """The JupyterLab command line that opens the first tutorial."""
    first = tutorial_names()[0]
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={folder}",
        f"--port={port}",
        f"--ip={ip}",
        f"--LabApp.default_url=/lab/tree/{first}",
        f"--LabApp.app_settings_dir={LAB_SETTINGS}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # Only warnings and the address: the INFO lines of every extension loading are noise.
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
    ]
    if no_browser:
        command.append("--no-browser")
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if _running_as_root():
        command.append("--allow-root")  # JupyterLab refuses root otherwise, e.g. in containers
    return command


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_lab(argv: Sequence[str]) -> int:
    options = _lab_parser().parse_args(argv)
    folder = Path(options.folder)
    try:
        report = copy_tutorials(folder)
    except OSError as error:
        print(
            f"error: the tutorials cannot be copied into {readable(str(folder))}: "
            f"{error.strerror or error}. Name a folder you can write to.",
            file=sys.stderr,
        )
        return 2
    command = lab_command(folder, options.port, options.ip, options.no_browser, options.token)
    # One line: where the copies are; a copy the learner already has is never overwritten.
    print(
        f"Your copies of the tutorials are in {readable(str(folder))}/ ({len(report.copied)} new, "
        f"{len(report.kept)} kept as you left them).",
        flush=True,
    )
    if options.dry_run:
        print(readable(shlex.join(command)))
        return 0
    if os.name == "posix":
        # Become JupyterLab, so Ctrl+C and signals sent to this process reach the server itself.
        os.execv(command[0], command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``melange-lab`` command: Ctrl+C ends it quietly (status 130)."""
    try:
        return _command(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _command(args: list[str]) -> int:
    if args and args[0] == "grade":
        from melange_lab.grading import grade_main

        return grade_main(args[1:])
    if args and args[0] == "student-version":
        from melange_lab.grading import student_version_main

        return student_version_main(args[1:])
    if args and args[0] == "validate":
        from melange_lab.grading import validate_main

        return validate_main(args[1:])
    if args and args[0] == "serve":
        from melange_lab.serving import serve_main

        return serve_main(args[1:])
    return run_lab(args)


if __name__ == "__main__":
    raise SystemExit(main())
