"""YAML facts files, read safely and with the position of every record and key.

Scalars stay text (only an empty value, `~` or `null` means "not given"): YAML 1.1 would read
`id: 010` as the number 8 and `方式: no` as false, and a unit's id must stay what it typed. The
field types in `values.py` then parse text the same way for YAML, CSV and Excel.

Anchors and aliases are refused: facts never need them, and refusing them makes alias bombs
("billion laughs") fail at once instead of feeding a shared structure to later stages.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .raw import Positioned, PositionedList, Reading, records_from_document
from .problems import Location

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where installed


class _AliasRefused(yaml.YAMLError):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__()
        self.mark = mark


class FactsLoader(_Base):  # type: ignore[misc, valid-type]
    yaml_implicit_resolvers: dict = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _AliasRefused(node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Positioned:
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            raise _AliasRefused(node.start_mark)
        result = Positioned()
        result.start = (node.start_mark.line + 1, node.start_mark.column + 1)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            if key in result:
                result.duplicates.append((key, at))
                continue
            result[key] = self.construct_object(value_node, deep=True)
            result.keys_at[key] = at
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> PositionedList:
        return PositionedList(
            [self.construct_object(child, deep=True) for child in node.value],
            (node.start_mark.line + 1, node.start_mark.column + 1),
            [(child.start_mark.line + 1, child.start_mark.column + 1) for child in node.value],
        )


FactsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
FactsLoader.add_constructor("tag:yaml.org,2002:map", FactsLoader.construct_mapping)
FactsLoader.add_constructor("tag:yaml.org,2002:omap", FactsLoader.construct_mapping)
FactsLoader.add_constructor("tag:yaml.org,2002:seq", FactsLoader.construct_sequence)


def read_yaml(path: str, text: str, reading: Reading) -> None:
    loader = FactsLoader(text)
    try:
        document = loader.get_single_data()
    except _AliasRefused as refused:
        where = Location(path, refused.mark.line + 1, refused.mark.column + 1)
        reading.problem(where, "E106", "不支持 YAML 锚点与别名（&、*、<<），请把每条记录完整写出")
        return
    except yaml.constructor.ConstructorError as error:
        mark = error.problem_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1)
        reading.problem(where, "E101", "不支持的 YAML 类型标签（以 ! 开头），请去掉它，按普通文本书写")
        return
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1)
        reading.problem(where, "E101", f"YAML 语法错误：{error.problem or error.context}")
        return
    except yaml.YAMLError as error:
        reading.problem(Location(path, 1), "E101", f"YAML 语法错误：{error}")
        return
    except RecursionError:
        reading.problem(Location(path, 1), "E105", "嵌套层次过深，不像是事实数据文件")
        return
    finally:
        loader.dispose()
    records_from_document(document, path, reading)
