#!/usr/bin/env python3
"""Prints the hot path as ratios to the storage floor, from the figures
criterion wrote for `cargo bench --features internals --bench hot_path` (the same run), and
checks them against the targets of the benchmarks issue."""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def ns(group: str, name: str, shape: str) -> float | None:
    path = ROOT / group / name / shape.replace("/", "_") / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


OUT = pathlib.Path(__file__).resolve().parent / "results" / "hot_path.txt"


def paired() -> dict[tuple[str, str], tuple[float, float, float]]:
    """The paired pass of the same run: (shape, op) -> (median, p25, p75)
    of the per-round engine/floor ratios."""
    out = {}
    try:
        text = (ROOT / "paired.txt").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        shape, op, *q = line.split()
        out[(shape.replace("/", "_"), op)] = tuple(float(x) for x in q)
    return out


def main() -> int:
    lines: list[str] = []

    def say(line: str) -> None:
        print(line)
        lines.append(line)

    shapes = sorted(p.name for p in (ROOT / "hot_path" / "get").glob("*k_*") if p.is_dir())
    if not shapes:
        print("no criterion results: run `cargo bench --features internals --bench hot_path` first", file=sys.stderr)
        return 1
    pairs = paired()
    say(f"{'shape':<10} {'operation':<8} {'engine':>10} {'floor':>10} {'ratio':>7} {'target':>7}     "
        "paired ratio (median, IQR of 21 rounds)")
    for shape in shapes:
        f = lambda name: ns("floor", name, shape)  # noqa: E731
        e = lambda name: ns("hot_path", name, shape)  # noqa: E731
        rows = [
            ("get", e("get"), f("sled get"), 1.25),
            # Floor get + floor overwrite, measured as one operation just
            # before the engine's set.
            ("set", e("set"), f("sled get+overwrite"), 1.25),
            ("touch", e("touch"), f("sled overwrite"), 1.25),
            ("create", e("create"), _sum(f("sled insert"), f("sled insert index entry")), 1.5),
            ("expire", e("expire"), _sum(f("sled remove"), f("sled remove")), 1.5),
        ]
        for op, engine, floor, target in rows:
            if engine is None or floor is None:
                continue
            ratio = engine / floor
            mark = "ok" if ratio <= target else "OVER"
            p = pairs.get((shape, op))
            both = ""
            if p:
                both = f"  {p[0]:.2f}x ({p[1]:.2f}-{p[2]:.2f}) {'ok' if p[0] <= target else 'OVER'}"
            say(
                f"{shape:<10} {op:<8} {engine / 1000:>8.2f}µs {floor / 1000:>8.2f}µs "
                f"{ratio:>6.2f}x {target:>5.2f}x {mark:<4}{both}"
            )
        for op in ("get", "set"):
            one, two = e(f"{op} x1 threads"), e(f"{op} x2 threads")
            if one and two:
                say(f"{shape:<10} {op} throughput, 2 threads vs 1: {one / two:.2f}x")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")
    return 0


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


if __name__ == "__main__":
    sys.exit(main())
