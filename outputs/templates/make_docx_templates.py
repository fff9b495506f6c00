"""Writes document.docx and index.docx, the docxtpl templates notices are rendered with.

The office may edit the .docx files themselves in Word or WPS (fonts, the red masthead, the
wording around the `{{ … }}` and `{%p … %}` tags); this script only recreates the defaults:

    python outputs/templates/make_docx_templates.py

Layout after GB/T 9704-2012: A4, margins 37/35/28/26 mm; 发文机关标志 in red 小标宋 over a
red rule under the 发文字号; title in 2号 (22 pt) 小标宋; body in 3号 (16 pt) 仿宋, 28 pt lines,
a 2-character indent; first-level headings in 黑体; 附件说明 under the body; 署名 and 成文日期 at
the right, kept on one page with the last lines of the body; the attachment on a new page with
its table; the 版记 (抄送, 印发机关 and 印发日期 between rules) at the end; page numbers in
4号 宋体 as "— 1 —", odd pages at the right and even pages at the left, one character in.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

RED = RGBColor(0xC0, 0x00, 0x00)
HERE = Path(__file__).parent
TEXT_WIDTH_MM = 156  # 210 − 28 − 26
# 附件：问题清单, on a landscape page (GB/T 9704-2012 10.1 allows a table turned so), column
# titles and widths (mm) over its 243 mm text width.
ITEM_COLUMNS = (("序号", "position", 13), ("问题", "text", 78), ("类别", "severity", 12),
                ("规则", "rule", 40), ("问题编号", "finding", 38), ("涉及记录", "records", 30),
                ("数据来源", "sources", 32))


def _fonts(run, font: str) -> None:
    run.font.name = font
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(key), font)


def _run(paragraph, text: str, font: str, size: float, bold: bool = False, color=None):
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    _fonts(run, font)
    if color is not None:
        run.font.color.rgb = color
    return run


def _paragraph(container, text: str = "", font: str = "仿宋", size: float = 16,
               align=WD_ALIGN_PARAGRAPH.LEFT, indent: bool = False, bold: bool = False,
               color=None, keep: bool = False, line: float = 28):
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(0)
    fmt.space_before = Pt(0)
    fmt.line_spacing = Pt(line)
    fmt.keep_with_next = keep
    fmt.widow_control = True
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if text:
        _run(paragraph, text, font, size, bold, color)
    return paragraph


def _border(paragraph, side: str, size: int, color: str = "000000", space: int = 1) -> None:
    """A rule above or below a paragraph (`size` in eighths of a point)."""
    properties = paragraph._p.get_or_add_pPr()
    borders = properties.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        properties.append(borders)
    rule = OxmlElement(f"w:{side}")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", str(space)),
                       ("w:color", color)):
        rule.set(qn(key), value)
    borders.append(rule)


def _page_number(paragraph) -> None:
    """"— N —" with N a PAGE field, in 4号 (14 pt) 宋体."""
    _run(paragraph, "— ", "宋体", 14)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"),
                       ("end", None)):
        run = paragraph.add_run()
        run.font.size = Pt(14)
        _fonts(run, "宋体")
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text.strip() == "PAGE":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run._r.append(instruction)
        else:
            run.text = text
    _run(paragraph, " —", "宋体", 14)


def _page(document, landscape: bool = False) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28)  # the page number sits 7 mm below the text block
    # Odd pages number at the right, even pages at the left (GB/T 9704-2012 7.5).
    settings = document.settings.element
    if settings.find(qn("w:evenAndOddHeaders")) is None:
        settings.append(OxmlElement("w:evenAndOddHeaders"))
    odd = section.footer.paragraphs[0]
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = Pt(14)
    _page_number(odd)
    even = section.even_page_footer.paragraphs[0]
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = Pt(14)
    _page_number(even)


def _cell(cell, text: str, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT,
          size: float = 10.5) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.line_spacing = Pt(16)
    _run(paragraph, text, "黑体" if bold else "仿宋", size)


def _items_table(document) -> None:
    table = document.add_table(rows=4, cols=len(ITEM_COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, (_, _, width) in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), ITEM_COLUMNS,
                                     strict=True):
        column.set(qn("w:w"), str(round(width * 56.7)))  # twips: what LibreOffice reads
    for index, (title, _, width) in enumerate(ITEM_COLUMNS):
        for row in table.rows:
            row.cells[index].width = Mm(width)
        _cell(table.rows[0].cells[index], title, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    header = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page
    header.append(repeat)
    for row in table.rows:  # a row never split over two pages
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    _cell(table.rows[1].cells[0], "{%tr for item in items %}")
    for index, (_, key, _) in enumerate(ITEM_COLUMNS):
        # Codes in 9 pt, so that a finding id fits its column on one line.
        size = 9 if key in ("finding", "records", "sources") else 10.5
        _cell(table.rows[2].cells[index], f"{{{{ item.{key} }}}}", size=size)
    _cell(table.rows[3].cells[0], "{%tr endfor %}")


def document_template() -> Document:
    document = Document()
    _page(document)
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph(document, "{{ organ }}", "方正小标宋简体", 30, center, color=RED, line=40)
    _paragraph(document)
    number = _paragraph(document, "{{ number }}", "仿宋", 16, center)
    _border(number, "bottom", 18, "C00000", space=8)  # the red separator, 2.25 pt
    _paragraph(document)
    _paragraph(document, "{{ title }}", "方正小标宋简体", 22, center, line=32)
    _paragraph(document)
    _paragraph(document, "{{ addressee }}", "仿宋", 16)
    _paragraph(document, "{%p for block in blocks %}")
    _paragraph(document, "{%p if block.level == 1 %}")
    _paragraph(document, "{{ block.text }}", "黑体", 16, indent=True, keep=True)
    _paragraph(document, "{%p else %}")
    _paragraph(document, "{{ block.text }}", "仿宋", 16, indent=True)
    _paragraph(document, "{%p endif %}")
    _paragraph(document, "{%p endfor %}")
    # From the closing words to the date, one page: 署名 and 成文日期 never stand alone, and
    # never without body text above them. The last body paragraph is not bound to them: a long
    # one moved whole left most of the page before it empty (seen in LibreOffice).
    _paragraph(document, "{{ closing }}", "仿宋", 16, indent=True, keep=True)
    _paragraph(document, "{%p if attachment %}")
    _paragraph(document, "", keep=True)
    _paragraph(document, "附件：{{ attachment }}", "仿宋", 16, indent=True, keep=True)
    _paragraph(document, "{%p endif %}")
    _paragraph(document, "", keep=True)
    _paragraph(document, "", keep=True)
    signature = _paragraph(document, "{{ signature }}", "仿宋", 16, right, keep=True)
    signature.paragraph_format.right_indent = Pt(64)
    date = _paragraph(document, "{{ date }}", "仿宋", 16, right)
    date.paragraph_format.right_indent = Pt(64)
    _section(document, landscape=True)
    _paragraph(document, "{%p if attachment %}")
    _paragraph(document, "附件", "黑体", 16)
    _paragraph(document, "{{ attachment }}", "方正小标宋简体", 22, center, line=32)
    _paragraph(document)
    _items_table(document)
    _paragraph(document, "{%p endif %}")
    _section(document, landscape=False, bottom=True)
    _colophon(document)
    return document


def _section(document, landscape: bool, bottom: bool = False) -> None:
    """A new page in a new section, its footers (page numbers) continuing the first's;
    `bottom`: the content sits at the foot of the page, as the 版记 does."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    wide, tall = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    section.page_width, section.page_height = wide, tall
    if landscape:
        section.top_margin, section.bottom_margin = Mm(28), Mm(26)
        section.footer_distance = Mm(14)
    else:
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.footer_distance = Mm(28)
    if bottom:
        align = OxmlElement("w:vAlign")
        align.set(qn("w:val"), "bottom")
        later = [child for child in section._sectPr if child.tag in (
            qn("w:noEndnote"), qn("w:titlePg"), qn("w:textDirection"), qn("w:bidi"),
            qn("w:rtlGutter"), qn("w:docGrid"), qn("w:printerSettings"))]
        if later:  # the schema's order, or Word and LibreOffice ignore it
            later[0].addprevious(align)
        else:
            section._sectPr.append(align)


def _colophon(document) -> None:
    """版记: 抄送 and 印发 lines between a thick rule above, thin rules between, and a thick
    rule below (GB/T 9704-2012 8)."""
    _paragraph(document, "{%p if cc_line %}")
    cc = _paragraph(document, "", "仿宋", 14, keep=True)
    cc.paragraph_format.left_indent = Pt(14)
    cc.paragraph_format.right_indent = Pt(14)
    _run(cc, "{{ cc_line }}", "仿宋", 14)
    _border(cc, "top", 8)
    _paragraph(document, "{%p endif %}")
    printed = _paragraph(document, "", "仿宋", 14)
    printed.paragraph_format.left_indent = Pt(14)
    printed.paragraph_format.right_indent = Pt(14)
    printed.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM) - Pt(28),
                                                    WD_TAB_ALIGNMENT.RIGHT)
    _run(printed, "{{ printer }}\t{{ printed }}", "仿宋", 14)
    _border(printed, "top", 4)
    _border(printed, "bottom", 8)


def index_template() -> Document:
    document = Document()
    _page(document)
    _paragraph(document, "{{ title }}", "方正小标宋简体", 22, WD_ALIGN_PARAGRAPH.CENTER, line=32)
    _paragraph(document, "{{ summary }}", "仿宋", 16, WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document)
    _paragraph(document, "{%p for item in items %}")
    _paragraph(document, "{{ item.position }}. {{ item.kind_title }} {{ item.number }}", "黑体", 14)
    _paragraph(document, "{{ item.title }}（主送：{{ item.addressee }}；{{ item.file }}）", "仿宋",
               14, indent=True)
    _paragraph(document, "{%p endfor %}")
    return document


if __name__ == "__main__":
    document_template().save(HERE / "document.docx")
    index_template().save(HERE / "index.docx")
