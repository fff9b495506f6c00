"""Benchmark: start-up. `luoshi --version` and a check of the minimal example beside a bare
`python -c "import typer"`, the least any typer command costs: medians of `--repeat` runs,
wall time and CPU time (this machine is shared: CPU time is the steadier figure).

    python bench/startup_bench.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

MINIMAL = Path(__file__).resolve().parent.parent / "tests" / "golden" / "minimal" / "facts.yaml"
COMMANDS = {
    "import typer": [sys.executable, "-c", "import typer"],
    "luoshi --version": [sys.executable, "-m", "luoshi.cli.main", "--version"],
    "check minimal": [sys.executable, "-m", "luoshi.cli.main", "check", str(MINIMAL), "--year",
                      "2013", "--format", "json", "--fail-on", "never"],
}


def timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):  # interleaved, so a slow minute slows every command alike
        for name, command in COMMANDS.items():
            runs[name].append(timed(command))
    median = {name: (sorted(w for w, _ in found)[len(found) // 2],
                     sorted(c for _, c in found)[len(found) // 2]) for name, found in runs.items()}
    base_wall, base_cpu = median["import typer"]
    print(f"{'command':18} {'wall s':>7} {'cpu s':>7} {'x wall':>7} {'x cpu':>7}")
    for name, (wall, cpu) in median.items():
        print(f"{name:18} {wall:7.3f} {cpu:7.3f} {wall / base_wall:7.1f} {cpu / base_cpu:7.1f}")


if __name__ == "__main__":
    main()
