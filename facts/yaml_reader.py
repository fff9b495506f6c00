"""YAML facts files, read safely and with the position of every record and key.

libyaml parses; we build records straight from its event stream instead of composing a node
tree and going through PyYAML's constructor: the tree of a 100,000-record file takes hundreds
of megabytes, and the constructor is slower than the parse itself and knows nothing of positions.

- Scalars stay text (only an empty value, `~` or `null` means "not given"): YAML 1.1 would read
  `id: 010` as the number 8 and `方式: no` as false, and a unit's id must stay what it typed.
  The field types in `values.py` then parse text the same way for YAML, CSV and Excel.
- Anchors, aliases and merge keys are refused: facts never need them, and refusing them makes
  alias bombs ("billion laughs") fail at once.
- Tags (`!!python/object`, `!foo`) are refused: nothing is ever constructed from a tag.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from .problems import Location
from .raw import SCALARS_PER_RECORD, Positioned, PositionedList, Reading, records_from_document
from .yaml_errors import describe

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where installed
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark, code: str, message: str) -> None:
        super().__init__(message)
        self.mark, self.code, self.message = mark, code, message


_ALIAS_REFUSED = "不支持 YAML 锚点与别名（&、*、<<），请把每条记录完整写出"
_TAG_REFUSED = "不支持的 YAML 类型标签（以 ! 开头），请去掉它，按普通文本书写"


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class _TooMany(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("too many mappings")
        self.mark = mark


def _build(parser: Any, room: int | None = None) -> Any:
    """The document's value, built straight from the parser's events with a stack; with `room`
    (records that may still be read), no more mappings than that (one per record, and the
    document's own), nor scalars than such records hold (`SCALARS_PER_RECORD`), are built
    (`_TooMany`)."""
    stack: list[Any] = []  # open collections; for a mapping, [mapping, pending key, key mark]
    root: Any = None
    documents = 0
    mappings = scalars = 0
    while True:
        event = parser.get_event()
        kind = event.__class__
        if kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(event.start_mark, "E101", "一个文件只能有一个 YAML 文档（多了一个 ---）")
            continue
        if kind in (yaml.StreamStartEvent, yaml.DocumentEndEvent):
            continue
        if kind is yaml.StreamEndEvent:
            return root
        if kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "E106", _ALIAS_REFUSED)
        if kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            value = stack.pop()
            value = value[0] if kind is yaml.MappingEndEvent else value
        else:
            if event.tag not in (None, "!", _STR, _SEQ, _MAP, _NULL):
                raise _Refused(event.start_mark, "E101", _TAG_REFUSED)
            if kind is yaml.ScalarEvent:
                scalars += 1
                if room is not None and scalars > SCALARS_PER_RECORD * (room + 1):
                    raise _TooMany(event.start_mark)
                plain = event.implicit[0] and event.tag is None
                value = None if plain and event.value in _NULLS else event.value
            elif kind is yaml.MappingStartEvent:
                mappings += 1
                if room is not None and mappings > room + 1:
                    raise _TooMany(event.start_mark)
                mapping = Positioned()
                mapping.start = _position(event.start_mark)
                stack.append([mapping, _NO_KEY, None])
                continue
            else:
                stack.append(PositionedList([], _position(event.start_mark), []))
                continue
        if not stack:
            root = value
            continue
        parent = stack[-1]
        if parent.__class__ is PositionedList:
            parent.append(value)
            parent.items_at.append(_position(event.start_mark) if kind is yaml.ScalarEvent
                                   else getattr(value, "start", None) or parent.start)
        elif parent[1] is _NO_KEY:
            if kind is not yaml.ScalarEvent:
                raise _Refused(event.start_mark, "E101", "映射的键应为普通文本")
            if value == "<<" and event.implicit[0]:
                raise _Refused(event.start_mark, "E106", _ALIAS_REFUSED)
            # one string per distinct key: a record of many fields repeated 100,000 times
            parent[1], parent[2] = sys.intern(value) if isinstance(value, str) else value, \
                _position(event.start_mark)
        else:
            mapping, key, at = parent
            if key in mapping:
                mapping.duplicates.append((key, at))
            else:
                mapping[key] = value
                mapping.keys_at[key] = at
            parent[1] = _NO_KEY


_NO_KEY = object()


def load_positioned(text: str) -> Any:
    """Any YAML document as `Positioned` mappings and lists (used for policy files too).

    Raises `yaml.YAMLError`, or `YamlRefused` (with `.mark`) for anchors, aliases and tags.
    """
    parser = _Parser(text)
    try:
        return _build(parser)
    finally:
        parser.dispose()


YamlRefused = _Refused


def read_yaml(path: str, text: str, reading: Reading) -> None:
    parser = None
    try:
        parser = _Parser(text)  # PyYAML's own reader checks the characters here already
        document = _build(parser, reading.room())
    except _TooMany as too_many:
        reading.stop(Location(path, *_position(too_many.mark)))
        return
    except _Refused as refused:
        reading.problem(Location(path, *_position(refused.mark)), refused.code, refused.message)
        return
    except yaml.YAMLError as error:
        line, column, message = describe(error, text)
        deep = "nesting depth" in str(getattr(error, "problem", ""))
        reading.problem(Location(path, line, column), "E105" if deep else "E101",
                        "嵌套层次过深，不像是事实数据文件" if deep else f"YAML 语法错误：{message}")
        return
    except RecursionError:
        reading.problem(Location(path, 1), "E105", "嵌套层次过深，不像是事实数据文件")
        return
    finally:
        if parser is not None:
            parser.dispose()
    records_from_document(document, path, reading)
