"""`luoshi demo --units N --seed S --out DIR`: a generated city to try luoshi on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from luoshi.facts.demo import generate

from .console import err, said


def demo(
    out: Annotated[Path, typer.Option("--out", help="输出文件夹", show_default=False)] = ...,  # type: ignore[assignment]
    units: Annotated[int, typer.Option("--units", help="责任单位个数", min=1)] = 150,
    seed: Annotated[int, typer.Option("--seed", help="随机种子：同一种子生成同样的数据")] = 1,
    defect_rate: Annotated[float, typer.Option(
        "--defect-rate", help="每个单位违反每条规则的概率", min=0.0, max=1.0)] = 0.12,
) -> None:
    """生成一个示例城市的报送数据（facts.yaml），每条规则都会在某些单位报出、在另一些单位不报。"""
    facts = generate(units, seed, defect_rate)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "facts.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(facts, stream, Dumper=dumper, allow_unicode=True, sort_keys=False, width=200)
    err.print(said("已生成", "green", f" {path}：{units} 个责任单位，"
                                     f"{sum(len(records) for records in facts.values())} 条记录"))
