"""Imports at company scale: `dispatch import customers FILE --dry-run` on 20,000 to 300,000 rows.

Writes a seeded customers CSV (one site per row; every fifth customer has a second site) and runs the real
command in a child process against a fresh database holding only the branches, so the figures are what a
user sees: rows per second and the child's peak RSS. With `--write` the import lands instead of a dry run.
Target: 100,000 rows in 30 s or less, with memory that does not grow with the file. Writes JSON to
`bench/results/`.

    ./dev run python bench/import_scale.py --rows 20000 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from data.db import open_database
from data.models import Branch
from data.transfer.csv_formats import CUSTOMER_COLUMNS

STREETS = ("Mannerheimintie", "Aleksanterinkatu", "Hämeentie", "Mechelininkatu", "Itämerenkatu", "Kaivokatu")
CITIES = (("Helsinki", "HEL", 60.17, 24.94), ("Espoo", "ESP", 60.21, 24.66))


def write_customers(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CUSTOMER_COLUMNS)
        customer = 0
        written = 0
        while written < rows:
            customer += 1
            sites = 2 if customer % 5 == 0 else 1
            for s in range(min(sites, rows - written)):
                city, branch, lat, lon = rng.choice(CITIES)
                writer.writerow(
                    [
                        f"C{customer:07d}", f"Customer {customer} Oy", f"billing{customer}@example.fi",
                        f"+35840{customer:07d}", (14, 30, 45)[customer % 3], "" if customer % 3 else "key at reception",
                        f"S{customer:07d}-{s}", f"Site {s} of {customer}", branch,
                        f"{rng.choice(STREETS)} {rng.randint(1, 120)}", f"00{rng.randint(100, 990)}", city,
                        f"{lat + rng.uniform(-0.05, 0.05):.6f}", f"{lon + rng.uniform(-0.08, 0.08):.6f}",
                        "" if s else "door code 1234",
                    ]
                )  # fmt: skip
                written += 1


def fresh_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    db = open_database(url)
    with db.write_session() as s:
        for name, code, lat, lon in CITIES:
            s.add(Branch(code=code, name=name, timezone="Europe/Helsinki", depot_lat=lat, depot_lon=lon))
        s.commit()
    db.dispose()
    return url


def run_import(url: str, csv_path: Path, write: bool) -> dict[str, object]:
    command = [str(Path(sys.executable).parent / "dispatch"), "--db", url]
    command += ["import", "customers", str(csv_path), "--json", *([] if write else ["--dry-run"])]
    env = {**os.environ, "DISPATCH_LOG_FILE": str(csv_path.with_suffix(".log"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 2):
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(report["rows"] / seconds),
        # ru_maxrss of children is the largest child so far; each size runs in a larger file than the last
        "peak_rss_mib": round(max(peak_kib, before) / 1024, 1),
        "report": {k: report[k] for k in ("rows", "created", "updated", "unchanged", "rejected", "dry_run")},
        "exit_code": done.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--write", action="store_true", help="land the import instead of a dry run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "import_scale.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="dispatch-import-bench-") as tmp:
        for rows in sorted(args.rows):
            csv_path = Path(tmp) / f"customers-{rows}.csv"
            write_customers(csv_path, rows)
            url = fresh_database(Path(tmp) / f"bench-{rows}.sqlite")
            load_before = os.getloadavg()
            result = {
                "rows": rows,
                "file_mib": round(csv_path.stat().st_size / 2**20, 1),
                **run_import(url, csv_path, args.write),
            }
            result["loadavg_before"] = [round(x, 2) for x in load_before]
            result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            results.append(result)
            print(
                f"{rows:>8,} rows ({result['file_mib']} MiB): {result['seconds']:>7.1f} s, "
                f"{result['rows_per_second']:>7,} rows/s, peak RSS {result['peak_rss_mib']} MiB, "
                f"load {result['loadavg_before'][0]} -> {result['loadavg_after'][0]}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "mode": "write" if args.write else "dry-run",
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
