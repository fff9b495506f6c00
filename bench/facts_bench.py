"""Benchmark: validate and load a generated set of about 100,000 records.

Each measurement runs in a fresh process, so its peak memory (VmHWM, Linux) is its own; the
figures include Python's start-up and imports. Prints one table row per shape and step.

    python bench/facts_bench.py [--records 100000] [--shapes yaml,csv,xlsx] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from luoshi.facts.demo import generate

RECORDS_PER_UNIT = 40  # what generate() writes per unit, on average

STEP = """
import json, sys, time
started = time.perf_counter()
from luoshi.facts.validate import read_facts
facts, inputs = read_facts([sys.argv[2]])
if sys.argv[1] == "load":
    from luoshi.facts import store
    store.load(facts, inputs, sys.argv[3])
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter carries the parent's peak over fork and exec.
status = open("/proc/self/status").read()
peak_kb = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({"seconds": seconds, "records": len(facts), "peak_mb": peak_kb / 1024}))
"""


def measure(step: str, path: Path, db: Path) -> dict:
    db.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, "-c", STEP, step, str(path), f"sqlite:///{db}"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{step} {path} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def write_shapes(records: int, folder: Path, shapes: list[str]) -> dict[str, Path]:
    from luoshi.facts import export
    from luoshi.facts.validate import read_facts

    document = generate(max(1, records // RECORDS_PER_UNIT))
    source = folder / "facts.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    source.write_text(yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False,
                                width=200), encoding="utf-8")
    paths = {"yaml": source}
    if set(shapes) - {"yaml"}:
        facts, _ = read_facts([str(source)])
        if "json" in shapes:
            paths["json"] = folder / "facts.json"
            export.write_json(facts, paths["json"])
        if "csv" in shapes:
            paths["csv"] = folder / "csv"
            export.write_csv(facts, paths["csv"], chinese=True, encoding="gb18030")
        if "xlsx" in shapes:
            paths["xlsx"] = folder / "facts.xlsx"
            export.write_xlsx(facts, paths["xlsx"], chinese=True)
    return paths


def size_mb(path: Path) -> float:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(file.stat().st_size for file in files if file.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--shapes", default="yaml,json,csv,xlsx")
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        paths = write_shapes(args.records, folder, shapes)
        print(f"generated in {time.perf_counter() - started:.1f} s on {platform.node()} "
              f"({platform.processor() or platform.machine()}, Python {platform.python_version()})")
        print(f"{'shape':6} {'step':9} {'input MB':>9} {'records':>8} {'seconds':>8} "
              f"{'records/s':>10} {'peak MB':>8}")
        for shape in shapes:
            for step in ("validate", "load"):
                figures = measure(step, paths[shape], Path(scratch) / "bench.db")
                print(f"{shape:6} {step:9} {size_mb(paths[shape]):9.1f} {figures['records']:8d} "
                      f"{figures['seconds']:8.2f} {figures['records'] / figures['seconds']:10.0f} "
                      f"{figures['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
