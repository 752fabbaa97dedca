"""Small timing helpers for running the benchmarks as plain scripts."""

from __future__ import annotations

import time

__all__ = ["best_of", "best_time_and_result", "print_table"]


def best_of(func, *, repeat=5, min_time=0.2):
    """Best wall time of one call of ``func`` (calls repeated until ``min_time`` per trial)."""
    best = float("inf")
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            func()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


def best_time_and_result(func, repeat=3):
    """The best wall time of ``repeat`` calls of ``func`` and the last call's result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
