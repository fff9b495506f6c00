"""Benchmark: a unit's resubmission as a whole command (issue 11 item 8: ≤ 0.5 s at 3,000 units).

`luoshi load UNIT.yaml --unit U --db city.db`, interpreter start and imports included, into a
generated city of `--units` units (stored once with `store.load`): the unit's own records, one
misconduct withdrawn with the records naming it, so that every run adds nothing, ends a few
versions and leaves the rest unchanged. Each run gets a fresh copy of the database (the copy is
not timed). Interleaved with a bare `python -c "import typer"`, the least any typer command
costs, `luoshi --version` and the bare import of the libraries a load needs, so that a slow
minute of this shared machine slows all alike; then the store's share, `store.load` of the same
submission in this process. Medians of `--repeat` runs, wall time beside CPU time (user +
system of the command).

    python bench/resubmit_bench.py [--units 3000] [--repeat 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from luoshi.facts import store
from luoshi.facts.demo import generate
from luoshi.facts.kinds import KINDS, references
from luoshi.facts.validate import read_facts

LUOSHI = str(Path(sys.executable).parent / "luoshi")


def unit_submission(data: dict, unit: str) -> tuple[dict, str]:
    """`unit`'s own records of the generated `data` (by each kind's OWNER path), less its first
    misconduct and the records naming it; and that misconduct's id."""
    by_id = {kind: {item["id"]: item for item in items if "id" in item}
             for kind, items in data.items()}

    def owner(kind: str, item: dict) -> str | None:
        path = KINDS[kind].OWNER
        if path is None:
            return None
        first, _, second = path.partition(".")
        return by_id[references(kind)[first][0]][item[first]][second] if second else item[first]

    own = {kind: [item for item in items if owner(kind, item) == unit]
           for kind, items in data.items()}
    withdrawn = own["misconduct"][0]["id"]
    sent = {kind: [item for item in items if withdrawn not in item.values()]
            for kind, items in own.items()}
    return {kind: items for kind, items in sent.items() if items}, withdrawn


def timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the city here and keep it (reused if there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        city_db, unit_file = folder / f"city-{args.units}.db", folder / f"unit-{args.units}.yaml"
        unit = "u00000"
        if not (city_db.exists() and unit_file.exists()):
            data = generate(args.units, seed=3)
            city = folder / f"city-{args.units}.yaml"
            city.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            city_db.unlink(missing_ok=True)
            store.load(*read_facts([str(city)]), str(city_db))
            sent, _ = unit_submission(data, unit)
            unit_file.write_text(yaml.safe_dump(sent, allow_unicode=True), encoding="utf-8")
        records = sum(len(items) for items in yaml.safe_load(unit_file.read_text("utf-8")).values())
        copy = Path(tmp) / "run.db"
        commands = {
            'python -c "import typer"': [sys.executable, "-c", "import typer"],
            "luoshi --version": [LUOSHI, "--version"],
            # the libraries a load cannot do without, imported and nothing done
            "its libraries alone": [sys.executable, "-c",
                                    "import typer, pydantic, sqlalchemy, yaml, rich.console"],
            "luoshi load --unit": [LUOSHI, "load", str(unit_file), "--unit", unit, "--db", str(copy)],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeat):  # interleaved: a slow minute slows every command alike
            for name, command in commands.items():
                shutil.copyfile(city_db, copy)
                runs[name].append(timed(command))
        in_process = []
        for _ in range(args.repeat):
            shutil.copyfile(city_db, copy)
            facts, inputs = read_facts([str(unit_file)],
                                       stored=lambda wanted: store.stored_ids(str(copy), wanted))
            wall, cpu = time.perf_counter(), time.process_time()
            store.load(facts, inputs, str(copy), submission=store.Submission(scope="unit", unit=unit))
            in_process.append((time.perf_counter() - wall, time.process_time() - cpu))
        load_after = os.getloadavg()[0]
    print(f"{args.units} units; the unit's submission: {records} records, one misconduct withdrawn; "
          f"load average {load_before:.2f} -> {load_after:.2f} on {os.cpu_count()} cores")
    base_wall, base_cpu = medians(runs['python -c "import typer"'])
    print(f"{'command':28} {'wall s':>7} {'cpu s':>7} {'x wall':>7} {'x cpu':>7}")
    for name, found in runs.items():
        wall, cpu = medians(found)
        print(f"{name:28} {wall:7.3f} {cpu:7.3f} {wall / base_wall:7.1f} {cpu / base_cpu:7.1f}")
    wall, cpu = medians(in_process)
    print(f"{'  of which store.load':28} {wall:7.3f} {cpu:7.3f}   (in this process, imports done)")


if __name__ == "__main__":
    main()
