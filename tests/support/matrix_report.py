"""Print tests/output/flink-matrix.json (written by tests/integration/test_flink_version_matrix.py)
as the Markdown table of the README's Tests section."""
from __future__ import annotations

import json
import pathlib
import sys

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "output" / "flink-matrix.json"
STEPS = ("deploy", "savepoint", "upgrade", "rescale", "rollback")


def _key(version: str):
    return tuple(int(x) for x in version.split("."))


def table(data: dict) -> str:
    lines = ["| Flink | test job | " + " | ".join(STEPS) + " | setup | total |",
             "|---|---|" + "---|" * len(STEPS) + "---|---|"]
    for version in sorted(data, key=_key):
        entry = data[version]
        cells, total = [], entry.get("setup_seconds") or 0
        for step in STEPS:
            res = entry.get("steps", {}).get(step)
            if res:
                total += res["seconds"]
                cells.append(f"{res['result']} {res['seconds']:.0f} s")
            else:
                cells.append("—")
        reported = entry.get("flink_reports", "?")
        setup = f"{entry['setup_seconds']:.0f} s" if entry.get("setup_seconds") is not None else "—"
        lines.append(f"| {reported} | {entry.get('test_job_tree', '?')} | " + " | ".join(cells)
                     + f" | {setup} | {total:.0f} s |")
    return "\n".join(lines)


def main() -> int:
    if not RESULTS.exists():
        print(f"no results in {RESULTS}", file=sys.stderr)
        return 1
    data = json.loads(RESULTS.read_text())
    print(table(data))
    for version in sorted(data, key=_key):
        for step, res in data[version].get("steps", {}).items():
            if res["result"] != "pass":
                print(f"\n{version} {step} failed: {res.get('error', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
