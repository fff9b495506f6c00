"""The year-end appraisal score: every responsible unit, ranked (interface.md, Report).

    score = max(0, 100 − error_weight·errors − warning_weight·warnings)

over the findings charged to the unit (waived ones are already out of the report). Ties share
a rank (1, 2, 2, 4) and are listed by unit id. Each deduction keeps its finding, so the score
can be defended finding by finding. A 等次 (grade) is the band the score falls in: bands are
the lowest score of each, highest first (luoshi.toml `[report.bands]`, default 好 ≥ 90,
较好 ≥ 80, 一般 ≥ 60, 差 below).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from luoshi.engine.runtime.results import Finding, Report

DEFAULT_WEIGHTS = {"error": 5.0, "warning": 1.0}


@dataclass
class Score:
    unit: str
    name: str
    score: float
    rank: int
    errors: int
    warnings: int
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict:
        score = int(self.score) if float(self.score).is_integer() else self.score
        return {"unit": self.unit, "name": self.name, "score": score, "rank": self.rank,
                "errors": self.errors, "warnings": self.warnings}


def rank(report: Report, weights: dict[str, float] | None = None) -> list[Score]:
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    scores = []
    for unit in report.units:
        findings = [f for f in report.findings if f.unit == unit]
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors
        value = max(0.0, 100 - weights["error"] * errors - weights["warning"] * warnings)
        scores.append(Score(unit, report.unit_names.get(unit, unit), value, 0, errors, warnings,
                            findings))
    scores.sort(key=lambda s: (-s.score, s.unit))
    for score in scores:
        score.rank = 1 + sum(1 for other in scores if other.score > score.score)
    return scores


def grade(score: float, bands: dict[str, float]) -> str:
    """The 等次 of a score: the first band (highest first) whose lowest score it reaches."""
    for name, low in bands.items():
        if score >= low:
            return name
    return list(bands)[-1]


def deduction(finding: Finding, weights: dict[str, float] | None = None) -> float:
    return {**DEFAULT_WEIGHTS, **(weights or {})}[finding.severity]
