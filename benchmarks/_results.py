"""Compare figures with the previous ones in benchmarks/RESULTS.md, and record new ones.

RESULTS.md keeps a machine-readable table per benchmark (between markers), one row per
figure: ``| key | value | unit | recorded |``. A script prints each new figure beside the
previous one; ``--record`` writes the new figures into the table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"
ROW = re.compile(
    r"^\| `(?P<key>[^`]+)` \| (?P<value>[-0-9.]+) \| (?P<unit>[^|]*) \| (?P<when>[^|]*) \|$"
)


def _section(name: str) -> tuple[str, str]:
    return f"<!-- figures:{name} -->", f"<!-- /figures:{name} -->"


def previous(name: str) -> dict[str, float]:
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text("utf-8")
    start, end = _section(name)
    if start not in text:
        return {}
    block = text.split(start, 1)[1].split(end, 1)[0]
    found = {}
    for line in block.splitlines():
        m = ROW.match(line.strip())
        if m:
            found[m["key"]] = float(m["value"])
    return found


def report(name: str, figures: dict[str, tuple[float, str]], *, record: bool) -> None:
    """Print each figure with the previous value and the change; optionally record them."""
    before = previous(name)
    print(f"\n{'figure':48} {'now':>12} {'before':>12} {'change':>9}")
    for key, (value, unit) in figures.items():
        old = before.get(key)
        change = ""
        if old:
            change = f"{(value - old) / old * 100:+.1f}%"
        old_text = f"{old:,.2f}" if old is not None else "-"
        print(f"{key:48} {value:>12,.2f} {old_text:>12} {change:>9}  {unit}")
    if record:
        _record(name, figures)
        print(f"\nrecorded in {RESULTS}")


def _record(name: str, figures: dict[str, tuple[float, str]]) -> None:
    text = RESULTS.read_text("utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start, end = _section(name)
    merged: dict[str, tuple[float, str, str]] = {}
    if start in text:
        block = text.split(start, 1)[1].split(end, 1)[0]
        for line in block.splitlines():
            m = ROW.match(line.strip())
            if m:
                merged[m["key"]] = (float(m["value"]), m["unit"].strip(), m["when"].strip())
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for key, (value, unit) in figures.items():
        merged[key] = (value, unit, today)
    rows = ["| figure | value | unit | recorded |", "|---|---|---|---|"]
    rows += [f"| `{k}` | {v:.2f} | {u} | {w} |" for k, (v, u, w) in merged.items()]
    table = "\n".join([start, *rows, end])
    if start in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        text = head + table + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {name}\n\n{table}\n"
    RESULTS.write_text(text, "utf-8")
