"""Writes document.docx and index.docx, the docxtpl templates notices are rendered with.

The office may edit the .docx files themselves in Word or WPS (fonts, the red masthead, the
wording around the `{{ … }}` and `{%p … %}` tags); this script only recreates the defaults:

    python outputs/templates/make_docx_templates.py

Layout after GB/T 9704-2012: A4, margins 37/35/28/26 mm; issuing organ in red 小标宋 over a
red rule; title in 2号 (22 pt) 小标宋; body in 3号 (16 pt) 仿宋 with a 2-character indent;
first-level headings in 黑体, second-level in 楷体; signature and date at the right.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

RED = RGBColor(0xC0, 0x00, 0x00)
HERE = Path(__file__).parent


def _run(paragraph, text: str, font: str, size: float, bold: bool = False, color=None):
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = font
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        run.font.color.rgb = color
    return run


def _paragraph(document, text: str = "", font: str = "仿宋", size: float = 16,
               align=WD_ALIGN_PARAGRAPH.LEFT, indent: bool = False, bold: bool = False,
               color=None):
    paragraph = document.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(28)
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    if text:
        _run(paragraph, text, font, size, bold, color)
    return paragraph


def _red_rule(paragraph) -> None:
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "6"),
                       ("w:color", "C00000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().append(border)


def _page(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)


def document_template() -> Document:
    document = Document()
    _page(document)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, "{{ organ }}", "方正小标宋简体", 26, center, color=RED)
    number = _paragraph(document, "{{ number }}", "仿宋", 16, center)
    _red_rule(number)
    _paragraph(document)
    _paragraph(document, "{{ title }}", "方正小标宋简体", 22, center)
    _paragraph(document)
    _paragraph(document, "{{ addressee }}", "仿宋", 16)
    _paragraph(document, "{%p for block in blocks %}")
    _paragraph(document, "{%p if block.level == 1 %}")
    _paragraph(document, "{{ block.text }}", "黑体", 16, indent=True)
    _paragraph(document, "{%p elif block.level == 2 %}")
    _paragraph(document, "{{ block.text }}", "楷体", 16, indent=True)
    _paragraph(document, "{%p else %}")
    _paragraph(document, "{{ block.text }}", "仿宋", 16, indent=True)
    _paragraph(document, "{%p endif %}")
    _paragraph(document, "{%p endfor %}")
    _paragraph(document)
    _paragraph(document, "{{ signature }}", "仿宋", 16, WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, "{{ date }}", "仿宋", 16, WD_ALIGN_PARAGRAPH.RIGHT)
    return document


def index_template() -> Document:
    document = Document()
    _page(document)
    _paragraph(document, "{{ title }}", "方正小标宋简体", 22, WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document, "{{ summary }}", "仿宋", 16, WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document)
    _paragraph(document, "{%p for item in items %}")
    _paragraph(document, "{{ item.position }}. {{ item.kind_title }} {{ item.number }}", "黑体", 14)
    _paragraph(document, "{{ item.title }}（{{ item.file }}）", "仿宋", 14, indent=True)
    _paragraph(document, "{%p endfor %}")
    return document


if __name__ == "__main__":
    document_template().save(HERE / "document.docx")
    index_template().save(HERE / "index.docx")
