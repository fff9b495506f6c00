"""Generated fact sets of any size (`luoshi demo`), realistic enough to exercise every rule.

A city has one discipline commission and N responsible units (departments, counties, zones,
people's organisations). Every unit starts compliant with the whole catalog, then draws, for
each rule, whether it carries that rule's defect (probability `defect_rate`), so every rule
both fires and stays quiet somewhere. Names are Chinese; everything is reproducible from the
seed. About 36 records per unit.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

YEAR = 2013
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉宇浩鹏飞玲燕"
PLACES = ["咸安", "嘉鱼", "赤壁", "通城", "崇阳", "通山", "温泉", "横沟", "贺胜", "汀泗", "马桥", "向阳"]
BODIES = [("教育局", "department"), ("财政局", "department"), ("卫生局", "department"),
          ("交通运输局", "department"), ("住建局", "department"), ("人民政府", "county"),
          ("总工会", "people_org"), ("团委", "people_org"), ("开发区管委会", "zone"),
          ("政府办公室", "office"), ("民政局", "department"), ("水利局", "department")]
TOPICS = ["财政资金支付监督管理办法", "公务接待管理办法", "公务用车管理规定", "政府采购监督办法",
          "工程建设项目招投标监督办法", "领导干部报告个人有关事项制度", "干部选拔任用监督办法",
          "专项资金管理办法", "行政审批监督办法", "廉政风险防控办法", "会议费管理规定", "差旅费管理规定"]
DEFECTS = ["R102", "R103", "R104", "R105", "I201", "I202", "I203", "I204", "I205", "I206", "I207",
           "I208", "I209", "I210", "A301", "A302", "A303", "A304", "A305", "A306", "A307", "F401",
           "F402", "F403", "F404", "F405", "F406", "L501", "L502", "L503"]


def _day(rng: random.Random, start: str, end: str) -> str:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return (first + dt.timedelta(days=rng.randrange((last - first).days + 1))).isoformat()


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def generate(units: int, seed: int = 1, defect_rate: float = 0.12) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    facts: dict[str, list[dict[str, Any]]] = {kind: [] for kind in (
        "units persons institutions tasks key_institutions leader_links inspections "
        "inspection_results supporting_systems appraisals checks misconduct accountability "
        "warning_measures rectifications signals reviews education lookbacks").split()}
    add = {kind: records.append for kind, records in facts.items()}
    add["units"]({"id": "jw", "name": "市纪委", "kind": "discipline", "party_secretary": "jw-p1",
                  "responsible_body": "制度落实督办室"})
    leaders = [f"jw-p{i}" for i in range(1, 4)]
    for number, person in enumerate(leaders, start=1):
        add["persons"]({"id": person, "name": _name(rng), "unit": "jw",
                        "post": "市纪委副书记" if number > 1 else "市纪委书记",
                        "discipline_leader": True})
    add["persons"]({"id": "jw-p9", "name": _name(rng), "unit": "jw", "post": "科员"})
    for kind in ("liaison_meeting", "situation_report", "result_feedback", "rectification"):
        add["supporting_systems"]({"unit": "jw", "kind": kind, "established_on": "2013-01-10"})
    ids = [f"u{n:05d}" for n in range(units)]
    for n, unit in enumerate(ids):
        defect = {rule for rule in DEFECTS if rng.random() < defect_rate}
        _unit(rng, add, unit, n, ids, defect, leaders)
    if units:  # one institution the city itself has not given a lead unit to (R101)
        add["institutions"]({"id": "orphan-1", "title": "公共资源交易监督办法", "source": "municipal",
                             "adopted_on": "2013-02-01"})
    return facts


def _unit(rng: random.Random, add: dict, unit: str, n: int, ids: list[str], defect: set[str],
          leaders: list[str]) -> None:
    body, kind = BODIES[n % len(BODIES)]
    place = PLACES[(n // len(BODIES)) % len(PLACES)]
    name = f"{place}{body}" + (f"（{n // (len(BODIES) * len(PLACES)) + 1}）"
                               if n >= len(BODIES) * len(PLACES) else "")
    p = [f"{unit}-p{i}" for i in range(4)]  # secretary, main leader, staff, staff
    add["units"]({k: v for k, v in {
        "id": unit, "name": name, "kind": kind, "party_secretary": None if "L502" in defect else p[0],
        "main_leader": p[1], "responsible_body": None if "R105" in defect else "纪检组",
        "discipline_organ": "jw"}.items() if v is not None})
    for i, person in enumerate(p):
        add["persons"]({"id": person, "name": _name(rng), "unit": unit,
                        "post": ["党组书记", "局长", "科长", "科员"][i]})
    other = ids[(n + 1) % len(ids)]
    # Two institutions led here; the first is an important measure, the second new this year.
    inst = [f"{unit}-i{i}" for i in range(2)]
    old_adopted = _day(rng, "2008-01-01", "2010-12-31")
    new_adopted = _day(rng, "2013-03-01", "2013-06-30")
    add["institutions"]({"id": inst[0], "title": rng.choice(TOPICS), "source": "provincial",
                         "lead_unit": unit, "cooperating_units": [other] if len(ids) > 1 else [],
                         "important_measure": True, "adopted_on": old_adopted})
    add["institutions"]({"id": inst[1], "title": rng.choice(TOPICS), "source": "municipal",
                         "lead_unit": unit, "adopted_on": new_adopted})
    for position, institution in enumerate(inst):
        task = {"id": f"{institution}-t", "institution": institution, "unit": unit,
                "leader": p[1], "person": p[2], "requirement": "按季度检查落实情况",
                "ledger": f"TZ-{unit}-{position}"}
        if "R103" in defect and position == 0:
            del task["ledger"]
        if "R104" in defect and position == 1:
            task["person"] = "jw-p9"
        add["tasks"](task)
    # The neighbour cooperates on inst[0]: its task, unless the defect says otherwise.
    if len(ids) > 1 and "R102" not in defect:
        add["tasks"]({"id": f"{inst[0]}-c", "institution": inst[0], "unit": other,
                      "leader": f"{other}-p1", "person": f"{other}-p2", "requirement": "配合落实",
                      "ledger": f"TZ-{other}-c{n}"})
    key = inst if "I201" not in defect else inst[:1]
    # One discipline leader links to the unit's key institutions and leads its re-supervision.
    linked = rng.choice(leaders) if "I206" not in defect else "jw-p9"
    for institution in key:
        add["key_institutions"]({"unit": unit, "year": YEAR, "institution": institution})
        add["leader_links"]({"person": linked, "institution": institution, "year": YEAR})
    covered = key if "I202" not in defect else key[1:]
    first = _day(rng, "2013-03-01", "2013-05-31")
    second = _day(rng, "2013-06-01", "2013-10-31")
    add["inspections"]({"id": f"{unit}-s1", "organizer": unit, "date": first, "kind": "regular",
                        "scope": "comprehensive", "mode": "open", "special": True,
                        "institutions": list(covered) or [inst[0]], "led_by": p[1],
                        "published_on": (dt.date.fromisoformat(first) + dt.timedelta(
                            days=45 if "I208" in defect else 10)).isoformat()})
    unannounced = "I203" not in defect and "I204" not in defect
    add["inspections"]({"id": f"{unit}-s2", "organizer": unit, "date": second, "kind": "surprise",
                        "scope": "spot", "mode": "unannounced" if unannounced else "open",
                        "institutions": [inst[0]], "led_by": p[0],
                        "published_on": (dt.date.fromisoformat(second) + dt.timedelta(
                            days=15)).isoformat()})
    if "I209" not in defect:
        supervised = _day(rng, "2013-07-01", "2013-11-15")
        add["inspections"]({"id": f"{unit}-r", "organizer": "jw", "target_unit": unit,
                            "date": supervised, "kind": "regular",
                            "scope": "spot", "mode": "open", "re_supervision": True,
                            "institutions": list(key),
                            "led_by": "jw-p9" if "I207" in defect and linked != "jw-p9" else linked,
                            "published_on": (dt.date.fromisoformat(supervised) + dt.timedelta(
                                days=20)).isoformat()})
    result = {"inspection": f"{unit}-s1", "institution": (covered or [inst[0]])[0],
              "status": "implemented", "effect": "落实到位"}
    if "I205" in defect:
        del result["effect"]
    add["inspection_results"](result)
    add["inspection_results"]({"inspection": f"{unit}-s2", "institution": inst[0],
                               "status": "not_implemented", "reason": "台帐不全"})
    if "F404" not in defect:
        add["rectifications"]({"id": f"{unit}-x1", "unit": unit, "person": p[2],
                               "problem": "补齐台帐", "inspection": f"{unit}-s2",
                               "institution": inst[0], "deadline": "2014-02-28"})
    systems = ["liaison_meeting", "situation_report", "result_feedback", "rectification"]
    for position, system in enumerate(systems):
        if "I210" in defect and position == 3:
            add["supporting_systems"]({"unit": unit, "kind": system, "established_on": "2014-01-20"})
            continue
        add["supporting_systems"]({"unit": unit, "kind": system, "established_on": "2013-02-15"})
    if "A301" not in defect:
        add["appraisals"]({k: v for k, v in {
            "unit": unit, "year": YEAR, "date": "2013-12-20", "score": rng.randrange(70, 100),
            "rank": None if "A303" in defect else n + 1, "published_on": "2013-12-28",
            "in_performance_review": True,
            "in_responsibility_check": "A302" not in defect}.items() if v is not None})
    for position, check in enumerate(("key_area", "key_post", "risk_point")):
        if "A304" in defect and position == 2:
            continue
        add["checks"]({"unit": unit, "date": _day(rng, "2013-02-01", "2013-11-30"), "kind": check})
    misconduct = f"{unit}-m1"
    add["misconduct"]({"id": misconduct, "unit": unit, "person": p[3],
                       "date": _day(rng, "2013-03-01", "2013-09-30"),
                       "kind": rng.choice(["disobey_order", "defy_ban", "arbitrary_change"]),
                       "institution": inst[1], "description": "违反规定报销费用"})
    if "A305" not in defect:
        add["accountability"]({"id": f"{unit}-a1", "basis": misconduct, "target_unit": unit,
                               "target_person": p[3], "date": "2013-10-15", "measure": "诫勉谈话"})
    delay = f"{unit}-m2"
    add["misconduct"]({"id": delay, "unit": unit, "person": p[2],
                       "date": _day(rng, "2013-03-01", "2013-09-30"), "kind": "delay",
                       "institution": inst[0], "description": "拖延落实重要措施"})
    if "A306" not in defect:
        add["warning_measures"]({"id": f"{unit}-w1", "basis": delay, "person": p[2],
                                 "date": "2013-10-10", "kind": "talk"})
    if "A307" not in defect:
        add["accountability"]({"id": f"{unit}-a2", "basis": delay, "target_unit": unit,
                               "target_person": p[1], "date": "2013-10-20", "measure": "通报批评"})
        add["signals"]({"id": f"{unit}-g1", "kind": "survey", "date": "2013-09-01", "unit": unit,
                        "about": delay, "summary": "民意调查反映推诿"})
    rectification = {"id": f"{unit}-x2", "unit": unit, "person": p[2], "problem": "整改公示不到位",
                     "deadline": "2013-08-31", "closed_on": "2013-08-20"}
    if "F403" in defect:
        del rectification["closed_on"]
    elif "F406" in defect:
        rectification["closed_on"] = "2013-09-20"
    if "F405" in defect:
        del rectification["person"]
    add["rectifications"](rectification)
    if "F401" not in defect:
        add["reviews"]({"institution": inst[0], "date": "2012-11-30", "kind": "cleanup",
                        "outcome": "retain"})
    for position, review in enumerate(("evaluation", "demonstration", "examination")):
        if "F402" in defect and position == 2:
            continue
        add["reviews"]({"institution": inst[1],
                        "date": (dt.date.fromisoformat(new_adopted) - dt.timedelta(
                            days=30 - position * 10)).isoformat(), "kind": review})
    if "L501" not in defect:
        add["education"]({"unit": unit, "date": _day(rng, "2013-03-01", "2013-11-30"),
                          "title": "惩防体系制度专题学习"})
    add["lookbacks"]({k: v for k, v in {"unit": unit, "date": "2013-11-20",
                                        "plan": None if "L503" in defect else "回头看工作方案"
                                        }.items() if v is not None})
