"""Benchmark: a unit's re-check after its submission, as the portal runs it (issue 12: the
unit's own findings within 2 s at 3,000 units), beside the whole city's check.

In one warm process, through the portal's own `web.pipeline.Pipeline` (policies compiled once,
the state kept between requests), on a generated city in SQLite:

- submission: `Pipeline.submit` of one unit's file (`load --unit`), one record left out
  (withdrawn);
- re-check: `Pipeline.findings` for the unit, what its 首页 and `/api/findings` show: the state
  brought up to date by reading what the submission changed (`store.read_newer`), then
  `check(units=[U])`, narrowed to the unit;
- whole check: the same over every unit, for comparison (and to show the two agree).

Medians of `--repeat` rounds, each on another unit; CPU time (the process and its workers)
beside wall time, because this machine is shared and noisy.

    python bench/recheck_bench.py [--units 3000] [--repeat 5] [--db sqlite:///city.db]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from luoshi.engine.runtime.run import check, narrow  # noqa: E402
from luoshi.facts import store  # noqa: E402
from luoshi.facts.demo import generate  # noqa: E402
from luoshi.facts.inputs import read_input  # noqa: E402
from luoshi.facts.validate import read_facts  # noqa: E402
from luoshi.outputs.formats.json_format import as_data  # noqa: E402
from luoshi.web.pipeline import Pipeline  # noqa: E402
from tests.test_versions import submission_of  # noqa: E402


def cpu() -> float:
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(action):
    wall, spent = time.perf_counter(), cpu()
    result = action()
    return result, time.perf_counter() - wall, cpu() - spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city.yaml"
        city.write_text(yaml.safe_dump(generate(args.units, seed=3), allow_unicode=True),
                        encoding="utf-8")
        db = f"sqlite:///{tmp}/city.db"
        facts, inputs = read_facts([str(city)])
        store.load(facts, inputs, db)
        pipeline = Pipeline.start(db)
        pipeline.rows()  # the server's first request reads the whole state once
        whole, whole_wall, whole_cpu = timed(lambda: check(pipeline.rows(), pipeline.program,
                                                           2013))
        units = sorted({f.unit for f in whole.findings if f.unit})
        rounds = []
        for number in range(args.repeat):
            unit = units[(number * 7919 + 1) % len(units)]  # [0] is the office
            own = [m for m in facts.facts("misconduct") if m.unit == unit]
            sent = submission_of(unit, city, Path(tmp) / f"unit-{number}.yaml",
                                 leave_out={own[0].id} if own else set(), cascade=True)
            upload = [(sent.name, sent.read_bytes())]
            _, load_wall, load_cpu = timed(lambda unit=unit, upload=upload: pipeline.submit(
                upload, unit, False, "bench"))
            mine, wall, spent = timed(lambda unit=unit: pipeline.findings(2013, dt.date(2013, 12, 31),
                                                                          unit))
            again = check(read_input(None, db), pipeline.program, 2013)
            agree = mine["findings"] == as_data(narrow(again, units=[unit]))["findings"]
            rounds.append((load_wall, load_cpu, wall, spent, len(mine["findings"]), agree))
            print(f"{unit}: submission {load_wall:.3f} s (cpu {load_cpu:.3f}), re-check "
                  f"{wall:.3f} s (cpu {spent:.3f}), {len(mine['findings'])} findings, "
                  f"{'same as the whole check' if agree else 'DIFFERS from the whole check'}")
    print(f"\n{args.units:,} units, {len(facts):,} records")
    line = "{:<34} wall {:>7.3f} s   cpu {:>7.3f} s"
    print(line.format("whole check (every unit)", whole_wall, whole_cpu))
    for name, index in (("unit submission (Pipeline.submit)", 0), ("unit re-check (median)", 2)):
        print(line.format(name, statistics.median(r[index] for r in rounds),
                          statistics.median(r[index + 1] for r in rounds)))
    print(line.format("submission + re-check (median)",
                      statistics.median(r[0] + r[2] for r in rounds),
                      statistics.median(r[1] + r[3] for r in rounds)))
    if not all(r[5] for r in rounds):
        sys.exit("a unit's re-check differs from the whole check")


if __name__ == "__main__":
    main()
