"""CLI start-up benchmark: how long `dispatch --help` and `dispatch jobs list --json` take, end to end.

Each command runs `--runs` times as a fresh subprocess of the installed entry point (`.venv/bin/dispatch`, not
`./dev run`, which adds uv's own start-up); the bench prints the median and the minimum of the wall times and the
1-minute load average before and after. `jobs list` reads the demo company, built once in a temporary directory.

    ./dev run python bench/cli_startup.py [--runs 10] [--label after]
Writes bench/results/cli_startup[_LABEL].json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def entry_point() -> str:
    beside = Path(sys.executable).with_name("dispatch")
    return str(beside) if beside.exists() else (shutil.which("dispatch") or "dispatch")


def load_average() -> float:
    return os.getloadavg()[0]


def timed_runs(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--label", default="", help="suffix for the result file, e.g. before")
    args = parser.parse_args()
    dispatch = entry_point()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DISPATCH_LOG_FILE": str(Path(tmp) / "dispatch.log"), "COLUMNS": "120"}
        demo = str(Path(tmp) / "demo.sqlite")
        subprocess.run([dispatch, "--db", demo, "demo"], check=True, stdout=subprocess.DEVNULL, env=env)
        commands = {
            "dispatch --help": [dispatch, "--help"],
            "dispatch jobs list --json (demo)": [dispatch, "--db", demo, "jobs", "list", "--json"],
        }
        load_before = load_average()
        figures = {}
        for name, argv in commands.items():
            times = timed_runs(argv, args.runs, env)
            figures[name] = {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}
        load_after = load_average()
    result = {
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(load_after, 2),
        "commands": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"cli_startup_{args.label}.json" if args.label else "cli_startup.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.runs} runs each; 1-min load {load_before:.2f} -> {load_after:.2f} on {os.cpu_count()} cores")
    for command, figure in figures.items():
        print(f"  {command:36} median {figure['median_s']:.3f} s  min {figure['min_s']:.3f} s")


if __name__ == "__main__":
    main()
