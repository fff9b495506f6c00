"""The one Jinja2 environment of the portal's pages: every value autoescaped (a unit named
`<script>` is shown as text), templates only from the package (none a user can edit)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from luoshi.facts.kinds import KINDS
from luoshi.outputs.notices import KIND_TITLES

from . import audit
from .accounts import ROLE_NAMES
from .audit import detail_text, local_time
from .sources import source_name

SEVERITY = {"error": "问题", "warning": "提醒"}
SCOPES = {"merge": "新增或修改", "unit": "单位报送", "replace": "替换全部"}


def kind_name(kind: str | None) -> str:
    return KINDS[kind].ZH if kind in KINDS else (kind or "")


def field_name(kind: str | None, name: str | None) -> str:
    """A field's Chinese title (the template's column header), else its name."""
    info = KINDS[kind].model_fields.get(name or "") if kind in KINDS else None
    return (info.title if info is not None and info.title else None) or (name or "")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("luoshi.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local_time"] = local_time
    env.filters["detail_text"] = detail_text
    env.filters["kind_name"] = kind_name
    env.filters["source_name"] = source_name
    env.filters["field_name"] = field_name
    env.globals["SEVERITY"] = SEVERITY
    env.globals["ACTIONS"] = audit.ACTIONS
    env.globals["OUTCOMES"] = audit.OUTCOMES
    env.globals["ROLE_NAMES"] = ROLE_NAMES
    env.globals["SCOPES"] = SCOPES
    env.globals["TRIGGERS"] = KIND_TITLES
    return env
