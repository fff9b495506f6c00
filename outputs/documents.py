"""Writing documents (notices.py) to files through editable templates.

`--format md|html` use the Jinja2 templates `document.<fmt>.j2` and `index.<fmt>.j2`; `docx`
uses the docxtpl templates `document.docx` and `index.docx` (Word files with `{{ … }}` tags,
so the office can restyle them in Word or WPS). Templates are looked up first in the folder
given with `--templates`, then among the bundled ones in `outputs/templates/`.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from luoshi.outputs.notices import Document

FORMATS = ("docx", "html", "md")
TEMPLATE_NAMES = ("document.docx", "index.docx", "document.html.j2", "index.html.j2",
                  "document.md.j2", "index.md.j2")


def _template(name: str, folder: Path | None) -> Path:
    if folder is not None and (folder / name).exists():
        return folder / name
    return Path(str(resources.files("luoshi.outputs").joinpath("templates", name)))


def write(documents: list[Document], out: Path, fmt: str, summary: str,
          templates: Path | None = None) -> list[Path]:
    """Every document and an index, in `out`; returns the files written (index last)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    items = []
    for position, document in enumerate(documents, start=1):
        path = out / f"{document.file_stem}.{fmt}"
        context = dataclasses.asdict(document)
        _render(fmt, "document", context, path, templates)
        written.append(path)
        items.append({"position": position, "kind_title": document.kind_title,
                      "number": document.number, "title": document.title,
                      "addressee": document.addressee.rstrip("："), "file": path.name})
    index = out / f"index.{fmt}"
    _render(fmt, "index", {"title": "发文目录", "summary": summary, "items": items}, index,
            templates)
    written.append(index)
    return written


def _render(fmt: str, name: str, context: dict[str, Any], path: Path,
            templates: Path | None) -> None:
    if fmt == "docx":
        from docxtpl import DocxTemplate

        template = DocxTemplate(str(_template(f"{name}.docx", templates)))
        template.render(context, autoescape=True)
        template.save(str(path))
        return
    source = _template(f"{name}.{fmt}.j2", templates)
    environment = jinja2.Environment(autoescape=fmt == "html", keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    text = environment.from_string(source.read_text(encoding="utf-8")).render(context)
    path.write_text(text, encoding="utf-8")
