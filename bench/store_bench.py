"""Benchmark: the versioned store on a generated city (default 3,000 units), SQLite.

- read (0002) vs read (versions): what a check reads, on a database built in the schema of
  revision 0002 (one row per record, read by primary key order) and on the same database after
  migration 0003 (open versions, read through the partial index). Median of `--repeat`.
- full load, identical reload, unit resubmission: `store.load` of the whole set, of the same set
  again (all unchanged), and of one unit's submission (`--unit`, its records less one).
Every line prints wall time beside CPU time (the machine is shared and noisy).

    python bench/store_bench.py [--units 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from luoshi.facts import store  # noqa: E402
from luoshi.facts.demo import generate  # noqa: E402
from luoshi.facts.validate import read_facts  # noqa: E402
from tests.test_versions import (  # noqa: E402
    load_like_revision_0002,
    read_like_revision_0002,
    submission_of,
    upgrade,
)


def timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def median_of(action, repeat):
    runs = [timed(action)[1:] for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city.yaml"
        city.write_text(yaml.safe_dump(generate(args.units, seed=3), allow_unicode=True),
                        encoding="utf-8")
        old = f"sqlite:///{tmp}/old.db"
        upgrade(old, "0002")
        load_like_revision_0002(old, city)
        line = "{:<28} wall {:>7.3f} s   cpu {:>7.3f} s"
        print(line.format("read (0002 schema)", *median_of(lambda: read_like_revision_0002(old),
                                                            args.repeat)))
        engine = store.connect(old)
        store.migrate(engine)
        engine.dispose()
        print(line.format("read (versions, 0003)", *median_of(lambda: store.read_rows(old),
                                                               args.repeat)))
        facts, inputs = read_facts([str(city)])
        new = f"sqlite:///{tmp}/new.db"
        print(line.format(f"full load ({len(facts)} records)",
                          *timed(lambda: store.load(facts, inputs, new))[1:]))
        print(line.format("identical reload", *timed(lambda: store.load(facts, inputs, new))[1:]))
        unit = facts.facts("misconduct")[0].unit
        sent = submission_of(unit, city, Path(tmp) / "unit.yaml",
                             leave_out={facts.facts("misconduct")[0].id})
        one, one_inputs = read_facts([str(sent)], stored=lambda wanted: store.stored_ids(new, wanted))
        result, wall, cpu = timed(lambda: store.load(one, one_inputs, new, submission=store.Submission(
            scope="unit", unit=unit)))
        removed = sum(count["removed"] for count in result.counts.values())
        print(line.format(f"unit resubmission ({len(one)} records, {removed} removed)", wall, cpu))


if __name__ == "__main__":
    main()
