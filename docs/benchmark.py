"""Write the results table in docs/benchmark.md from the benchmark's last run (bench/last-run.json).

    .venv/bin/python -m docs.benchmark           # rewrite the table after `scripts/bench`
    .venv/bin/python -m docs.benchmark --check   # exit 1 if the table does not match the JSON

The table is the one `scripts/bench` prints (`bench.report.table`), with the machine it ran on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.report import machine_line, table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "last-run.json"
DOCUMENT = REPO / "docs" / "benchmark.md"
BEGIN = "<!-- results: generated from bench/last-run.json by `.venv/bin/python -m docs.benchmark` -->"
END = "<!-- end of results -->"


def results_section(results: Path = RESULTS) -> str:
    """The machine line and the table, between the two marker lines."""
    run = json.loads(results.read_text(encoding="utf-8"))
    seconds = run["load_generator"]["wall_s"]
    machine = f"Ran in {seconds:.0f} s on {machine_line(run)}."
    return "\n".join([BEGIN, machine, "", table(run), END])


def updated(document: str, results: Path = RESULTS) -> str:
    """`document` with the text between the markers replaced by the current results."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + results_section(results) + document[end:]


def main(argv: list[str]) -> int:
    current = DOCUMENT.read_text(encoding="utf-8")
    wanted = updated(current)
    if "--check" in argv:
        if current != wanted:
            print(f"{DOCUMENT} is out of date: run .venv/bin/python -m docs.benchmark", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(wanted, encoding="utf-8")
    print(f"wrote the results in {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
