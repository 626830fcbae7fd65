"""``python -m benchmarks [--quick] [--only NAME ...]``: run the cases and print one table."""

from __future__ import annotations

import argparse
import os
import platform
import time

from benchmarks.cases import CASES, FULL, QUICK, Row
from melange_lab import moto_internals


def _machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load}"
    )


def _table(rows: list[Row]) -> str:
    header = Row("case", "measured", "target")
    fields = ("case", "figure", "target")
    widths = [max(len(getattr(row, field)) for row in [header, *rows]) for field in fields]

    def line(row: Row, verdict: str) -> str:
        cells = [row.case, row.figure, row.target]
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + f" | {verdict}"

    verdicts = {True: "met", False: "NOT MET", None: ""}
    rule = "-+-".join("-" * w for w in widths) + "-+-----"
    return "\n".join([line(header, "met?"), rule, *(line(r, verdicts[r.met]) for r in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller depths, for a smoke run")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=[case.__name__ for case in CASES],
        help="run only these cases",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    moto_internals.check_supported()
    print(f"melange-lab benchmarks ({'quick' if args.quick else 'full'} run): {_machine()}")
    rows: list[Row] = []
    started = time.perf_counter()
    for case in CASES:
        if args.only and case.__name__ not in args.only:
            continue
        case_started = time.perf_counter()
        try:
            found = case(sizes)
        except Exception as error:  # one broken case must not hide the others' figures
            found = [Row(case.__name__, f"FAILED: {error!r}", met=False)]
        rows += found
        elapsed = time.perf_counter() - case_started
        print(
            f"  {case.__name__} ({elapsed:.1f} s): " + "; ".join(r.figure for r in found),
            flush=True,
        )
    print(f"\n{_table(rows)}\n\ntotal {time.perf_counter() - started:.0f} s; after: {_machine()}")


if __name__ == "__main__":
    main()
