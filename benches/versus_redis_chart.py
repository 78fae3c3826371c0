#!/usr/bin/env python3
"""The chart of benches/versus_redis.rs: a million sessions in sessile
(one bar per sled cache size) and in a local redis-server, side by side:
get latency (bar = p50, tick = p99, log scale) and the memory each holds.

Reads benches/results/versus_redis.json (written by `cargo bench --bench
versus_redis`), writes benches/results/versus_redis.svg. Run by `make
bench` right after the bench; needs only Python's standard library.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from benchlib import svg_bar, svg_escape, svg_gridline, svg_open

RESULTS = Path(__file__).resolve().parent / "results"


def chart(doc: dict) -> str:
    rows = doc["rows"]
    left, right, top, row_h, head_h = 190, 300, 76, 26, 24
    width = 900
    plot_w = width - left - right
    height = top + 2 * (len(rows) * row_h + head_h) + 60
    parts = svg_open(
        width, height, 8,
        f"{doc['sessions']:,} sessions of {doc['record_bytes']} B: sessile (embedded) against redis-server",
        "get: µs per call, log scale, bar = p50, tick = p99 (Redis over loopback)",
        "memory: sessile's RSS after reading every session; redis-server's used_memory_rss",
    )
    bottom = height - 40
    y = top

    lo, hi = 1.0, 10 ** math.ceil(math.log10(max(r["get_p99_us"] for r in rows) * 1.2))

    def x_us(us: float) -> float:
        return left + math.log10(max(us, lo) / lo) / math.log10(hi / lo) * plot_w

    parts.append(f'<text x="8" y="{y + 16}" font-weight="bold">random get</text>')
    y += head_h
    for r in rows:
        colour = "#4c6ef5" if r["store"].startswith("redis") else "#d9480f"
        note = f'{r["get_p50_us"]:.1f} µs (p99 {r["get_p99_us"]:.1f})'
        parts += svg_bar(r["store"], left, y, x_us(r["get_p50_us"]), x_us(r["get_p99_us"]), colour,
                         svg_escape(note), left + plot_w + 10, text_y=17, bar_y=4, bar_h=row_h - 8,
                         mid=13, tick=6)
        y += row_h
    for t in (1, 10, 100, 1000):
        if t <= hi:
            parts.append(f'<text x="{x_us(t):.1f}" y="{y + 12}" text-anchor="middle" fill="#555">{t} µs</text>')
    y += 10

    most = max(r["memory_bytes"] for r in rows) * 1.1
    parts.append(f'<text x="8" y="{y + 16}" font-weight="bold">memory</text>')
    y += head_h
    first = y
    for r in rows:
        colour = "#4c6ef5" if r["store"].startswith("redis") else "#d9480f"
        bx = left + r["memory_bytes"] / most * plot_w
        mib = r["memory_bytes"] / 2**20
        parts += svg_bar(r["store"], left, y, bx, bx, colour, f"{mib:.0f} MiB", left + plot_w + 10,
                         text_y=17, bar_y=4, bar_h=row_h - 8, mid=13, tick=0)
        y += row_h
    for mib in range(0, int(most / 2**20) + 1, 100):
        parts += svg_gridline(left + mib * 2**20 / most * plot_w, first, y, f"{mib} MiB")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    doc = json.loads((RESULTS / "versus_redis.json").read_text())
    out = RESULTS / "versus_redis.svg"
    out.write_text(chart(doc))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
