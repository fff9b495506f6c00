"""Generate a valid fact set of any size: N units, each with its people, institutions and a
year of records of every kind, about 36 records per unit. Deterministic for a seed.

    python bench/generate.py --units 3000 --out /tmp/set.yaml
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

import yaml

YEAR = 2013


def _day(rng: random.Random, year: int = YEAR) -> str:
    return (dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))).isoformat()


def generate(units: int, seed: int = 1) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    facts: dict[str, list[dict]] = {kind: [] for kind in (
        "units persons institutions tasks key_institutions leader_links inspections "
        "inspection_results supporting_systems appraisals checks misconduct accountability "
        "warning_measures rectifications signals reviews education lookbacks").split()}
    facts["units"].append({"id": "jw", "name": "纪委", "kind": "discipline", "party_secretary": "jw-p1"})
    facts["persons"].append({"id": "jw-p1", "name": "纪委书记", "unit": "jw", "discipline_leader": "true"})
    for n in range(units):
        u = f"u{n:05d}"
        p = [f"{u}-p{i}" for i in range(3)]
        inst = [f"{u}-i{i}" for i in range(2)]
        facts["units"].append({"id": u, "name": f"单位{n}", "kind": rng.choice(["department", "county", "zone"]),
                               "party_secretary": p[0], "responsible_body": "办公室", "discipline_organ": "jw"})
        for i, person in enumerate(p):
            facts["persons"].append({"id": person, "name": f"人员{n}-{i}", "unit": u, "post": "科员"})
        for i, institution in enumerate(inst):
            facts["institutions"].append({
                "id": institution, "title": f"制度{n}-{i}", "source": rng.choice(["provincial", "municipal"]),
                "lead_unit": u, "cooperating_units": [f"u{rng.randrange(units):05d}"],
                "adopted_on": _day(rng, YEAR - rng.randrange(4))})
            facts["tasks"].append({"id": f"{institution}-t", "institution": institution, "unit": u,
                                   "leader": p[0], "person": p[1], "requirement": "落实", "ledger": f"L-{n}-{i}"})
            facts["key_institutions"].append({"unit": u, "year": YEAR, "institution": institution})
            facts["leader_links"].append({"person": "jw-p1", "institution": institution, "year": YEAR})
            facts["reviews"].append({"institution": institution, "date": _day(rng), "kind": "cleanup",
                                     "outcome": "retain"})
        for i, (kind, scope, mode) in enumerate([("regular", "comprehensive", "open"),
                                                  ("surprise", "spot", "unannounced")]):
            ins = f"{u}-ins{i}"
            facts["inspections"].append({"id": ins, "organizer": u, "date": _day(rng), "kind": kind,
                                         "scope": scope, "mode": mode, "special": "true",
                                         "institutions": list(inst), "led_by": p[0], "published_on": _day(rng)})
            facts["inspection_results"].append({"inspection": ins, "institution": inst[i],
                                                "status": "implemented", "effect": "良好"})
        for kind in ("liaison_meeting", "situation_report", "result_feedback", "rectification"):
            facts["supporting_systems"].append({"unit": u, "kind": kind, "established_on": _day(rng, YEAR - 1)})
        facts["appraisals"].append({"unit": u, "year": YEAR, "date": f"{YEAR}-12-20", "score": rng.randrange(60, 100),
                                    "rank": n + 1, "published_on": f"{YEAR}-12-28",
                                    "in_performance_review": "是", "in_responsibility_check": "是"})
        for kind in ("key_area", "key_post", "risk_point"):
            facts["checks"].append({"unit": u, "date": _day(rng), "kind": kind})
        mc = f"{u}-mc"
        facts["misconduct"].append({"id": mc, "unit": u, "person": p[2], "date": _day(rng),
                                    "kind": rng.choice(["defy_ban", "delay"]), "institution": inst[0]})
        facts["accountability"].append({"id": f"{u}-acc", "basis": mc, "target_unit": u, "target_person": p[2],
                                        "date": _day(rng)})
        facts["warning_measures"].append({"id": f"{u}-wm", "basis": mc, "person": p[2], "date": _day(rng),
                                          "kind": "talk"})
        facts["rectifications"].append({"id": f"{u}-r", "unit": u, "person": p[1], "problem": "问题",
                                        "deadline": _day(rng), "closed_on": _day(rng)})
        facts["signals"].append({"id": f"{u}-s", "kind": "survey", "date": _day(rng), "unit": u, "about": mc})
        facts["education"].append({"unit": u, "date": _day(rng), "title": "学习"})
        facts["lookbacks"].append({"unit": u, "date": _day(rng), "plan": "方案"})
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    facts = generate(args.units, args.seed)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    args.out.write_text(yaml.dump(facts, Dumper=dumper, allow_unicode=True, sort_keys=False, width=200),
                        encoding="utf-8")
    print(sum(len(records) for records in facts.values()), "records written to", args.out)


if __name__ == "__main__":
    main()
