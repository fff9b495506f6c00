"""The policy language: the YAML files in `policies/`, read into pydantic models.

One file per mechanism of the source document holds its rules; `terms.yaml` holds the terms the
rules share (computed fields such as "responsible unit", and shared parameters). A rule says
which records it is about (`match`), what must hold between them (`where`), which related
records must not exist (`unless`), and what it produces: one finding, and triggers.

    - id: A305
      match: {m: "misconduct where m.kind in ['disobey_order', 'defy_ban']"}
      unless: ["accountability as a where a.basis == m.id"]
      finding: {unit: m.unit, subject: m.id, message: "违规行为 {m.id} 未被问责"}
      triggers: [{type: accountability, basis: m.id, target_unit: m.unit, ...}]

A mistake in a policy file is reported at its file and line (`PolicyError`).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from luoshi.engine.language import expr
from luoshi.engine.language.triggers import TriggerType
from luoshi.facts.problems import InputError, Location, Problem, os_reason
from luoshi.facts.raw import Positioned, PositionedList
from luoshi.facts.yaml_errors import describe as describe_yaml_error
from luoshi.facts.yaml_reader import YamlRefused, load_positioned

_MATCH = re.compile(r"^\s*(?P<kind>[a-z_.]+)(?:\s+where\s+(?P<where>.+))?\s*$", re.DOTALL)
_UNLESS = re.compile(
    r"^\s*(?P<kind>[a-z_.]+)\s+as\s+(?P<alias>[a-z_][a-z0-9_]*)(?:\s+where\s+(?P<where>.+))?\s*$",
    re.DOTALL)


class PolicyError(InputError):
    """A policy file that cannot be used; every problem is located at file:line."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(_Model):
    zh: str
    en: str


class Example(_Model):
    """Facts (YAML, as in a facts file) and what the rule gives on them."""

    facts: str
    gives: list[str] = Field(default_factory=list, description="subjects of the findings")


class Doc(_Model):
    checks: str
    why: str
    fail: Example
    passes: Example = Field(alias="pass")


class Pattern(_Model):
    """`kind [where expr]` (in match) or `kind as alias [where expr]` (in unless)."""

    kind: str
    alias: str
    where: Any = None  # parsed expression
    text: str


class Alternative(_Model):
    """One way for a rule to fire: records bound by `match`, tests in `where`, `unless` absent."""

    match: dict[str, str] = Field(default_factory=dict)
    where: str | None = None
    unless: list[str] = Field(default_factory=list)


class FindingSpec(_Model):
    unit: str
    subject: str
    message: str
    # The wording in the unit's rectification notice, where `message` would name someone
    # outside the unit; it sees only `$subject` and `$unit`.
    notice: str | None = None


class TriggerSpec(_Model):
    type: TriggerType
    basis: str
    target_unit: str
    target_person: str = "null"
    due: str = "null"
    issuer: str = "null"
    unless: list[str] = Field(default_factory=list)


def _parameter(value: int | float) -> int | float:
    """A parameter's default: a finite number an expression could hold (expr.MAX_NUMBER)."""
    if not math.isfinite(value) or abs(value) > expr.MAX_NUMBER:
        raise PydanticCustomError("parameter", "参数的默认值应为有限的数值，绝对值不超过 2^53"
                                  f"（{expr.MAX_NUMBER}）")
    return value


Parameter = Annotated[int | float, AfterValidator(_parameter)]


class Rule(_Model):
    id: str = Field(pattern=r"^[A-Z][0-9]{3}$")
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    severity: Literal["error", "warning"]
    clause: str
    title: Title
    params: dict[str, Parameter] = Field(default_factory=dict)
    # Conditions over the parameters (`$min <= $max`) any value given for them must meet:
    # checked before a run (engine/language/params.py).
    param_checks: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    where: str | None = None
    unless: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    finding: FindingSpec
    triggers: list[TriggerSpec] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    doc: Doc


class PolicyFile(_Model):
    mechanism: str
    clause: str
    title: Title
    rules: list[Rule]


class Terms(_Model):
    params: dict[str, Parameter] = Field(default_factory=dict)
    computed: dict[str, dict[str, str]] = Field(default_factory=dict)
    # The built-in parameters (`accountability_days`) and computed fields
    # (`units.responsible`) this file redefines, named on purpose: without it, redefining one
    # is an error, so that no policy folder can quietly weaken the catalog.
    override: list[str] = Field(default_factory=list)


@dataclass
class Catalog:
    """Every rule, with where it was defined, and the shared terms."""

    rules: dict[str, Rule]
    where: dict[str, Location]  # rule id -> where its definition starts
    mechanisms: dict[str, PolicyFile]  # file stem -> file
    terms: Terms
    terms_where: dict[str, Location]  # "kind.field" -> where its expression is
    # rule id -> (parsed file, path, index in `rules`), to locate any part of a rule
    documents: dict[str, tuple[Any, str, int]]
    files: list[Path] = field(default_factory=list)
    # Built-in terms a user's terms file redefined (with `override`): name -> where
    overrides: dict[str, Location] = field(default_factory=dict)

    def sha256(self) -> str:
        """A hash of every policy file in use (names and contents), recorded with each run."""
        digest = hashlib.sha256()
        for path in self.files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def texts(self, builtin: Path | None = None) -> list[tuple[str, str, bytes]]:
        """Every policy file in use as (folder, name, bytes): folder "builtin" for the bundled
        ones, "user 1", "user 2", … for the user's folders in the order given."""
        builtin = builtin or builtin_folder()
        folders: list[Path] = []
        result = []
        for path in self.files:
            if path.is_relative_to(builtin):
                folder = "builtin"
            else:
                if path.parent not in folders:
                    folders.append(path.parent)
                folder = f"user {folders.index(path.parent) + 1}"
            result.append((folder, path.name, path.read_bytes()))
        return result

    def params(self) -> dict[str, int | float]:
        """Every parameter with its default: shared ones by name, a rule's as `ID.name`."""
        result: dict[str, int | float] = dict(self.terms.params)
        for rule in self.rules.values():
            for name, value in rule.params.items():
                result[f"{rule.id}.{name}"] = value
        return result


def builtin_folder() -> Path:
    return Path(str(resources.files("luoshi.policies")))


def load_catalog(extra_folders: list[str] | None = None, builtin: Path | None = None) -> Catalog:
    """The bundled policies (or, with `builtin`, those of a folder standing for them: the
    texts a recorded run used), plus a user's folders (`--policies DIR`), validated."""
    problems: list[Problem] = []
    builtin = builtin or builtin_folder()
    files: list[Path] = sorted(builtin.glob("*.yaml"))
    for folder in extra_folders or []:
        path = Path(folder)
        if not path.is_dir():
            problems.append(Problem(Location(folder), "P101", "策略文件夹不存在"))
            continue
        files.extend(sorted(path.glob("*.yaml")))
    catalog = Catalog({}, {}, {}, Terms(), {}, {}, files)
    for path in files:
        document = _read(path, problems)
        if document is None:
            continue
        if path.stem == "terms" or "computed" in document:
            _add_terms(path, document, catalog, problems, builtin)
        else:
            _add_policy_file(path, document, catalog, problems)
    if not problems:
        _check_expressions(catalog, problems)
    if not problems:
        from luoshi.engine.language.params import policy_problems  # it reads this catalog

        problems = policy_problems(catalog)
    if problems:
        raise PolicyError(problems)
    return catalog


def _read(path: Path, problems: list[Problem]) -> Positioned | None:
    try:
        text = path.read_text(encoding="utf-8")
        document = load_positioned(text)
    except OSError as error:
        problems.append(Problem(Location(str(path)), "P101", f"无法读取策略文件：{os_reason(error)}"))
        return None
    except UnicodeDecodeError:
        problems.append(Problem(Location(str(path)), "P101", "策略文件不是 UTF-8 文本，请另存为 UTF-8"))
        return None
    except YamlRefused as refused:
        at = Location(str(path), refused.mark.line + 1, refused.mark.column + 1)
        problems.append(Problem(at, "P101", refused.message))
        return None
    except yaml.YAMLError as error:
        line, column, message = describe_yaml_error(error, text)
        problems.append(Problem(Location(str(path), line, column), "P101", f"YAML 语法错误：{message}"))
        return None
    if not isinstance(document, Positioned):
        problems.append(Problem(Location(str(path), 1), "P101", "策略文件顶层应为映射"))
        return None
    return document


def locate(document: Any, path: str, loc: tuple[Any, ...]) -> Location:
    """The position of the value at `loc` (a pydantic error location) in a parsed document."""
    line, col = getattr(document, "start", (1, 1))
    node = document
    for part in loc:
        if isinstance(node, Positioned) and part in node:
            line, col = node.keys_at.get(part, (line, col))
            node = node[part]
        elif isinstance(node, PositionedList) and isinstance(part, int) and part < len(node):
            line, col = node.items_at[part] if part < len(node.items_at) else (line, col)
            node = node[part]
        else:
            break
    return Location(path, line, col)


def _validation_problems(error: ValidationError, document: Any, path: str) -> list[Problem]:
    problems = []
    for detail in error.errors(include_url=False):
        where = locate(document, path, tuple(detail["loc"]))
        field = ".".join(str(part) for part in detail["loc"])
        problems.append(Problem(where, "P201", f"{field}：{detail['msg']}"))
    return problems


def _add_policy_file(path: Path, document: Positioned, catalog: Catalog,
                     problems: list[Problem]) -> None:
    try:
        policy = PolicyFile.model_validate(document)
    except ValidationError as error:
        problems.extend(_validation_problems(error, document, str(path)))
        return
    catalog.mechanisms[path.stem] = policy
    for index, rule in enumerate(policy.rules):
        where = locate(document, str(path), ("rules", index))
        if rule.id in catalog.rules:
            problems.append(Problem(where, "P401",
                                    f"规则编号 {rule.id} 重复：已在 {catalog.where[rule.id]} 定义"))
            continue
        catalog.rules[rule.id] = rule
        catalog.where[rule.id] = where
        catalog.documents[rule.id] = (document, str(path), index)


def _add_terms(path: Path, document: Positioned, catalog: Catalog,
               problems: list[Problem], builtin: Path) -> None:
    try:
        terms = Terms.model_validate(document)
    except ValidationError as error:
        problems.extend(_validation_problems(error, document, str(path)))
        return
    if not path.is_relative_to(builtin):
        _check_overrides(path, document, terms, catalog, problems)
    merged_params = {**catalog.terms.params, **terms.params}
    merged = {kind: dict(fields) for kind, fields in catalog.terms.computed.items()}
    for kind, fields in terms.computed.items():
        merged.setdefault(kind, {}).update(fields)
        for name in fields:
            catalog.terms_where[f"{kind}.{name}"] = locate(document, str(path),
                                                           ("computed", kind, name))
    catalog.terms = Terms(params=merged_params, computed=merged)


def _check_overrides(path: Path, document: Positioned, terms: Terms, catalog: Catalog,
                     problems: list[Problem]) -> None:
    """A user's terms file may redefine a built-in term only by naming it in `override`."""
    redefined: dict[str, tuple[str, ...]] = {
        name: ("params", name) for name in terms.params if name in catalog.terms.params}
    redefined |= {f"{kind}.{name}": ("computed", kind, name)
                  for kind, fields in terms.computed.items() for name in fields
                  if name in catalog.terms.computed.get(kind, {})}
    for name, loc in redefined.items():
        where = locate(document, str(path), loc)
        if name in terms.override:
            catalog.overrides[name] = where
        else:
            problems.append(Problem(where, "P402", f"{name} 是自带的术语或参数；要改变它，须在本文件的 "
                                                   f"override 中写明：override: [{name}]"))
    for name in terms.override:
        if name not in redefined:
            problems.append(Problem(locate(document, str(path), ("override",)), "P402",
                                    f"override 中的 {name} 不是本文件重新定义的自带术语或参数"))


def rule_location(catalog: Catalog, rule_id: str, *loc: Any) -> Location:
    document, path, index = catalog.documents[rule_id]
    return locate(document, path, ("rules", index, *loc))


def parse_pattern(text: str, alias: str | None = None) -> Pattern:
    """`kind where expr` (alias given by the match key) or `kind as alias where expr`."""
    match = (_MATCH if alias else _UNLESS).match(text)
    if match is None:
        form = "类别 [where 条件]" if alias else "类别 as 别名 [where 条件]"
        raise expr.ExprError(f"应写作“{form}”", 1)
    where = match.group("where")
    offset = match.start("where") if where else 0
    try:
        parsed = expr.parse(where) if where else None
    except expr.ExprError as error:
        raise expr.ExprError(str(error), error.column + offset) from None
    return Pattern(kind=match.group("kind"), alias=alias or match.group("alias"), where=parsed,
                   text=text)


def _check_expressions(catalog: Catalog, problems: list[Problem]) -> None:
    """Parse every expression once, so a typo is reported at load time with its position."""
    for rule in catalog.rules.values():
        for loc, text, kind in rule_expressions(rule):
            try:
                if kind == "match":
                    parse_pattern(text, alias=str(loc[-1]))
                elif kind == "unless":
                    parse_pattern(text)
                elif kind == "message":
                    template_parts(text)
                else:
                    expr.parse(text)
            except expr.ExprError as error:
                where = rule_location(catalog, rule.id, *loc)
                problems.append(Problem(where, "P301", f"{rule.id} {'.'.join(map(str, loc))}："
                                        f"{error}（第 {error.column} 个字符）"))
    for key, text in ((f"{k}.{f}", t) for k, fs in catalog.terms.computed.items()
                      for f, t in fs.items()):
        try:
            expr.parse(text)
        except expr.ExprError as error:
            problems.append(Problem(catalog.terms_where[key], "P301",
                                    f"{key}：{error}（第 {error.column} 个字符）"))


def rule_expressions(rule: Rule) -> list[tuple[tuple[Any, ...], str, str]]:
    """Every expression of a rule as (location in the rule, text, kind of text)."""
    found: list[tuple[tuple[Any, ...], str, str]] = []

    def body(prefix: tuple[Any, ...], part: Rule | Alternative) -> None:
        for alias, text in part.match.items():
            found.append(((*prefix, "match", alias), text, "match"))
        if part.where:
            found.append(((*prefix, "where"), part.where, "expr"))
        for index, text in enumerate(part.unless):
            found.append(((*prefix, "unless", index), text, "unless"))

    body((), rule)
    for index, alternative in enumerate(rule.alternatives):
        body(("alternatives", index), alternative)
    found.append((("finding", "unit"), rule.finding.unit, "expr"))
    found.append((("finding", "subject"), rule.finding.subject, "expr"))
    found.append((("finding", "message"), rule.finding.message, "message"))
    if rule.finding.notice:
        found.append((("finding", "notice"), rule.finding.notice, "message"))
    for index, trigger in enumerate(rule.triggers):
        for name in ("basis", "target_unit", "target_person", "due", "issuer"):
            found.append((("triggers", index, name), getattr(trigger, name), "expr"))
        for position, text in enumerate(trigger.unless):
            found.append((("triggers", index, "unless", position), text, "unless"))
    for index, text in enumerate(rule.evidence):
        found.append((("evidence", index), text, "unless"))
    return found


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def template_parts(text: str) -> list[Any]:
    """A message template as text pieces and parsed `{expression}` pieces."""
    parts: list[Any] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[position:match.start()])
        try:
            parts.append(expr.parse(match.group(1)))
        except expr.ExprError as error:
            raise expr.ExprError(str(error), error.column + match.start() + 1) from None
        position = match.end()
    parts.append(text[position:])
    return parts
