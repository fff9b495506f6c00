"""Benchmark: `check` on generated cities of 150 and 3,000 units, from files and from the
database (SQLite), beside the floor: merely reading the same rows from the database.

- read s, check s: reading, and reading plus checking, timed inside the process once its
  imports are done, as the floor is. Each is the median of `--repeat` runs in fresh
  processes (this VM's timings vary by 20% and more); `x floor` is the median ratio of each
  run to a floor run just before it.
- cpu s: CPU time of the check's process and its workers (this machine is shared: compare it
  with the wall time); the one-process line splits a check into enrichment, durable_rules
  (its runs, actions included) and the rest (view, results).
- main MB, worker MB: peak RSS of the main process and of the largest worker (RSS counts the
  pages a forked worker shares with its parent in both).
- command s, total MB: the whole `luoshi check` command, interpreter start and imports
  included, and its peak memory with all its workers as summed PSS (each page once).

    python bench/check_bench.py [--units 150,3000] [--repeat 3] [--keep DIR]
    python bench/check_bench.py --scaling DIR/city-3000.db DIR/city-30000.db [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from luoshi.facts.demo import generate

STEP = """
import json, resource, sys, time
from luoshi.engine.plan.compile import compile_catalog
from luoshi.engine.language.policy import load_catalog
from luoshi.engine.runtime import durable, enrich
from luoshi.engine.runtime.run import RunOptions, check
from luoshi.facts import store
from luoshi.facts.factset import rows_of
from luoshi.facts.validate import read_facts
source, profile = sys.argv[1], len(sys.argv) > 2
spent = {"enrich": 0.0, "engine": 0.0}
def timed(name, function):
    def run(*args, **kwargs):
        begun = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - begun
    return run
if profile:  # one process: every stratum's enrichment and engine run timed in it
    enrich.build, durable.run = timed("enrich", enrich.build), timed("engine", durable.run)
def cpu():
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
started, cpu_started = time.perf_counter(), cpu()  # imports done, as in FLOOR
facts = store.read_rows(source[len("db:"):]) if source.startswith("db:") \
    else rows_of(read_facts([source])[0])
read = time.perf_counter() - started
checked = time.perf_counter()
options = RunOptions(workers=1, parallel_min_rows=10**12) if profile else RunOptions()
report = check(facts, compile_catalog(load_catalog()), 2013, options=options)
seconds = time.perf_counter() - started
status = open("/proc/self/status").read()
print(json.dumps({"seconds": seconds, "read": read, "cpu": cpu() - cpu_started,
                  "facts": sum(map(len, facts.values())), "findings": len(report.findings),
                  "check": time.perf_counter() - checked, **spent,
                  "peak_mb": int(status.split("VmHWM:")[1].split()[0]) / 1024,
                  "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


FLOOR = """
import json, sqlite3, sys, time
from luoshi.facts.tables import FACT_TABLES
started = time.perf_counter()
connection = sqlite3.connect(sys.argv[1])
rows = sum(len(connection.execute(f'SELECT * FROM "{table.name}"').fetchall())
           for table in FACT_TABLES.values())
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
"""


def floor(db: Path, repeat: int) -> dict:
    """The time to merely read the same rows from the database: what check cannot beat; also
    the whole process's wall time (interpreter start and imports included)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", FLOOR, str(db)],
                                capture_output=True, text=True, check=True)
        runs.append({**json.loads(result.stdout), "command": time.perf_counter() - started})
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def _tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        found = []
        for parent in frontier:
            try:
                found += [int(x) for x in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
            except OSError:
                pass
        pids += found
        frontier = found
    return pids


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def total_pss(command: list[str]) -> tuple[float, float, float]:
    """Wall and CPU time of a command, and the peak memory of it and all its worker processes
    together (summed PSS, sampled every 20 ms), in MB: pages a forked worker shares with its
    parent are counted once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_kb(pid) for pid in _tree(process.pid)))
        time.sleep(0.02)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, peak / 1024


def profile(db: Path) -> dict:
    """One check in one process, its enrichment and durable_rules runs timed."""
    result = subprocess.run([sys.executable, "-c", STEP, f"db:{db}", "profile"],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def measure(source: str, repeat: int, db: Path) -> dict:
    """The median of `repeat` runs, each right after a floor run of its own: `x floor` is the
    median of those pairs' ratios, so a slow minute of this VM slows both sides."""
    runs = []
    for _ in range(repeat):
        base = floor(db, 1)
        result = subprocess.run([sys.executable, "-c", STEP, source], capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"check {source} failed:\n{result.stderr[-3000:]}")
        run = json.loads(result.stdout)
        runs.append({**run, "ratio": run["seconds"] / base["seconds"]})
    figures = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    return {**figures, "ratio": sorted(run["ratio"] for run in runs)[len(runs) // 2]}


def _total(label: str, path: Path, db: Path) -> tuple[float, float, float]:
    """Peak summed PSS of the `luoshi check` command itself, workers included."""
    source = [str(path)] if label == "files" else ["--db", str(db)]
    return total_pss([sys.executable, "-m", "luoshi.cli.main", "check", *source, "--year", "2013",
                      "--format", "json", "--fail-on", "never"])


def scaling(small: Path, large: Path, repeat: int) -> None:
    """How the check time grows, from two databases `--keep` left: each large run beside the
    median of three small runs made just before it, so that both see the same VM."""
    ratios = []
    for _ in range(repeat):
        small_runs = sorted(measure(f"db:{small}", 1, small)["seconds"] for _ in range(3))
        large_seconds = measure(f"db:{large}", 1, large)["seconds"]
        ratios.append(large_seconds / small_runs[1])
        print(f"{small.stem}: {small_runs[1]:.2f} s  {large.stem}: {large_seconds:.2f} s  "
              f"ratio {ratios[-1]:.1f}", flush=True)
    print(f"median ratio {sorted(ratios)[len(ratios) // 2]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="150,3000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--scaling", nargs=2, type=Path, metavar=("SMALL_DB", "LARGE_DB"),
                        help="only compare the check time of two databases --keep left")
    args = parser.parse_args()
    print(f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})")
    if args.scaling:
        scaling(*args.scaling, args.repeat)
        return
    print(f"{'units':>6} {'source':6} {'facts':>7} {'findings':>8} {'read s':>7} {'check s':>8} "
          f"{'cpu s':>7} {'main MB':>8} {'worker MB':>9} {'x floor':>8} {'command s':>9} "
          f"{'cmd cpu s':>9} {'total MB':>9}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for units in (int(n) for n in args.units.split(",")):
            path = folder / f"city-{units}.yaml"
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            path.write_text(yaml.dump(generate(units, seed=units), Dumper=dumper,
                                      allow_unicode=True, sort_keys=False), encoding="utf-8")
            db = folder / f"city-{units}.db"
            db.unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "luoshi.cli.main", "load", str(path), "--db",
                            str(db)], check=True, capture_output=True)
            base = floor(db, args.repeat)
            print(f"{units:6d} {'floor':6} {base['rows']:7d} {'':8} {base['seconds']:7.2f} "
                  f"{base['seconds']:8.2f} {'':7} {'':8} {'':9} {'':8} {base['command']:9.2f}")
            for label, source in (("files", str(path)), ("db", f"db:{db}")):
                figures = measure(source, args.repeat, db)
                wall, cpu, total_mb = _total(label, path, db)
                print(f"{units:6d} {label:6} {figures['facts']:7d} {figures['findings']:8d} "
                      f"{figures['read']:7.2f} {figures['seconds']:8.2f} {figures['cpu']:7.2f} "
                      f"{figures['peak_mb']:8.0f} {figures['worker_peak_mb']:9.0f} "
                      f"{figures['ratio']:8.1f} {wall:9.2f} {cpu:9.2f} {total_mb:9.0f}",
                      flush=True)
            one = profile(db)
            rest = one["check"] - one["enrich"] - one["engine"]
            print(f"{units:6d} one process, from the db: check {one['check']:.2f} s = enrichment "
                  f"{one['enrich']:.2f} s + durable_rules {one['engine']:.2f} s "
                  f"({one['engine'] / one['check']:.0%}) + view and results {rest:.2f} s",
                  flush=True)


if __name__ == "__main__":
    main()
