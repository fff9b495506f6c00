"""Benchmark: the versioned store on a generated city (default 3,000 units), SQLite.

- read (0002) vs read (versions): what a check reads, on a database built in the schema of
  revision 0002 (one row per record, read by primary key order) and on the same database after
  migration 0003 (open versions, read through the partial index). Median of `--repeat`.
- full load, identical reload, unit resubmission: `store.load` of the whole set, of the same set
  again (all unchanged), and of one unit's submission (`--unit`, its records less one).
- migration 0004 and its hash chain: read before and after, the hashing share of a full load,
  `luoshi load --unit` as a whole command, `--replace` of the whole set (a little changed)
  against a plain load, the disk size of 10 full reloads each changing a little against one
  load, `luoshi verify`, and the check with and without F407 on the same rows.
Every line prints wall time beside CPU time (the machine is shared and noisy).

    python bench/store_bench.py [--units 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
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
        print(line.format("read (versions, 0004)", *median_of(lambda: store.read_rows(old),
                                                               args.repeat)))
        facts, inputs = read_facts([str(city)])
        new = f"sqlite:///{tmp}/new.db"
        print(line.format(f"full load ({len(facts)} records)",
                          *timed(lambda: store.load(facts, inputs, new))[1:]))
        print(line.format("identical reload", *timed(lambda: store.load(facts, inputs, new))[1:]))
        unit = facts.facts("misconduct")[0].unit
        sent = submission_of(unit, city, Path(tmp) / "unit.yaml",
                             leave_out={facts.facts("misconduct")[0].id}, cascade=True)
        one, one_inputs = read_facts([str(sent)], stored=lambda wanted: store.stored_ids(new, wanted))
        result, wall, cpu = timed(lambda: store.load(one, one_inputs, new, submission=store.Submission(
            scope="unit", unit=unit)))
        removed = sum(count["removed"] for count in result.counts.values())
        print(line.format(f"unit resubmission ({len(one)} records, {removed} removed)", wall, cpu))
        chain_figures(tmp, city, facts, inputs, sent, unit, args.repeat, line)


def command(*args: str) -> tuple[float, float]:
    """A whole `luoshi` command: wall time, and the CPU time of the process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "luoshi"), *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def changed_a_little(data: dict, round_: int) -> dict:
    """The city with 1% of its persons and rectifications changed (round `round_`)."""
    copy = {kind: [dict(item) for item in items] for kind, items in data.items()}
    for kind, name in (("persons", "name"), ("rectifications", "problem")):
        items = copy.get(kind, [])
        for item in items[round_::100]:
            item[name] = f"{item[name]}（第 {round_} 次更正）"
    return copy


def size_of(path: Path) -> int:
    """A SQLite database on disk, its write-ahead log checkpointed in."""
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path.stat().st_size


def chain_figures(tmp: str, city: Path, facts, inputs, sent: Path, unit: str, repeat: int,
                  line: str) -> None:
    from luoshi.engine.language.policy import load_catalog
    from luoshi.engine.plan.compile import compile_catalog
    from luoshi.engine.runtime.run import check
    from luoshi.facts import chain
    from luoshi.facts.factset import rows_of

    # 0003 -> 0004: the migration computing the chain; what a check reads after it
    old = f"sqlite:///{tmp}/chain-old.db"
    upgrade(old, "0002")
    load_like_revision_0002(old, city)
    upgrade(old, "0003")
    engine = store.connect(old)
    _, wall, cpu = timed(lambda: store.migrate(engine))
    engine.dispose()
    print(line.format("migration 0004 (chain computed)", wall, cpu))
    print(line.format("read (0004, with history)", *median_of(lambda: store.read_rows(old), repeat)))

    # the hashing share of a full load
    rows = rows_of(facts)

    def hash_all() -> None:
        for kind, kind_rows in rows.items():
            for row in kind_rows:
                chain.version_hash(kind, 1, row["__key__"], row["__where__"], row)

    print(line.format(f"  of a load: hashing {len(facts)} versions", *timed(hash_all)[1:]))

    # whole commands: a unit's resubmission; a plain load against --replace
    plain = Path(tmp) / "plain.db"
    print(line.format("luoshi load (whole command, full)", *command("load", str(city), "--db", str(plain))))
    print(line.format("luoshi load --unit (whole command)",
                      *command("load", str(sent), "--db", str(plain), "--unit", unit)))
    data = yaml.safe_load(city.read_text(encoding="utf-8"))
    little = Path(tmp) / "little.yaml"
    little.write_text(yaml.safe_dump(changed_a_little(data, 1), allow_unicode=True), encoding="utf-8")
    print(line.format("luoshi load --replace (1% changed)",
                      *command("load", str(little), "--db", str(plain), "--replace")))
    print(line.format("luoshi verify (whole command)", *command("verify", "--db", str(plain))))

    # disk: one load, then 10 full reloads each changing a little
    history = Path(tmp) / "history.db"
    store.load(facts, inputs, f"sqlite:///{history}")
    one = size_of(history)
    for round_ in range(1, 11):
        little.write_text(yaml.safe_dump(changed_a_little(data, round_), allow_unicode=True),
                          encoding="utf-8")
        again, again_inputs = read_facts([str(little)])
        store.load(again, again_inputs, f"sqlite:///{history}", submission=store.Submission(scope="replace"))
    ten = size_of(history)
    print(f"{'disk: one load':<28} {one / 1e6:>8.1f} MB")
    print(f"{'disk: + 10 full reloads':<28} {ten / 1e6:>8.1f} MB   ({ten / one:.2f}x one load)")

    # the check, with and without F407, on the same rows (read once)
    catalog = load_catalog()
    state = store.read_rows(old)
    everything = compile_catalog(catalog)
    without = compile_catalog(catalog, select=set(catalog.rules) - {"F407"})
    print(line.format("check, 33 rules", *median_of(lambda: check(state, everything, 2013), repeat)))
    print(line.format("check, without F407", *median_of(lambda: check(state, without, 2013), repeat)))


if __name__ == "__main__":
    main()
