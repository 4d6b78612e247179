"""The printable 办事指南 (service guide) of one implementation entry, as an A4 PDF.

Laid out as Chinese government service guides are: the title and codes, then nine numbered sections, a QR
code of the online page so a reader of the paper can open the current version, and "第 X 页 共 Y 页".

Decision: the font is WenQuanYi Micro Hei (Debian fonts-wqy-microhei), not Noto Sans CJK. Debian's
fonts-noto-cjk ships CFF (PostScript) outlines, which reportlab's TTFont refuses ("postscript outlines are
not supported"); Micro Hei has TrueType outlines and covers GBK. reportlab embeds the subset it uses.

The output is reproducible: the same card, issue time and address give the same bytes (reportlab's
invariant mode, with the PDF's creation date set to the issue time), so a guide can be cached and compared.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from wanshi.items.domain.elements import ONLINE_DEPTH_LABELS, Elements, Material
from wanshi.items.domain.views import ItemCard
from wanshi.kernel.errors import ValidationFailed, WanshiError

PAGE_WIDTH = A4[0]
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIZE = 30 * mm
SECTION_START = 30 * mm  # room a section needs below its heading to start on this page
ROW_SPLIT_MIN = 60  # points, five lines of a table cell
QR_BORDER = 4  # the quiet zone, in modules, that readers need around the symbol
GRID = colors.HexColor("#7F7F7F")
HEADER_FILL = colors.HexColor("#E8EDF5")
NONE = "—"


@dataclass(frozen=True)
class FontFile:
    """A TrueType face on disk and the Debian package that installs it."""

    path: Path
    subfont_index: int
    package: str
    name: str


GUIDE_FONT = FontFile(
    path=Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    subfont_index=0,  # 0 is WenQuanYi Micro Hei; 1 is its monospaced face
    package="fonts-wqy-microhei",
    name="WanshiGuideSans",
)


class GuideFontMissing(WanshiError):
    code = "pdf_font_missing"
    default_message = "生成办事指南所需的中文字体未安装"


_font_lock = threading.Lock()
_build_lock = threading.Lock()
_registered: set[FontFile] = set()


def registered_font(font: FontFile = GUIDE_FONT) -> str:
    """Register ``font`` with reportlab once per process and return its name; parsing the face takes a
    noticeable moment, and reportlab's registry is global, so every thread shares one registration."""
    with _font_lock:
        if font not in _registered:
            if not font.path.is_file():
                raise GuideFontMissing(
                    f"找不到中文字体文件 {font.path}，请安装 Debian 软件包 {font.package}"
                    f"（apt-get install {font.package}）",
                    path=str(font.path),
                    package=font.package,
                )
            try:
                face = TTFont(font.name, str(font.path), subfontIndex=font.subfont_index)
            except TTFError as exc:
                raise GuideFontMissing(
                    f"中文字体文件 {font.path} 无法使用（{exc}），请重新安装 Debian 软件包 {font.package}",
                    path=str(font.path),
                    package=font.package,
                ) from exc
            pdfmetrics.registerFont(face)
            _registered.add(font)
    return font.name


def render_guide(card: ItemCard, *, issued_at: datetime, url: str) -> bytes:
    """The 办事指南 of ``card`` as PDF bytes; ``url`` is the online page the QR code opens."""
    url = url.strip()
    if not url:
        raise ValidationFailed("办事指南须附网上办事指南的地址", code="pdf_url_missing")
    styles = _Styles(registered_font())
    title = f"{card.title} 办事指南"
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        author=card.organisation_name,
        subject=f"实施编码 {card.code}",
        keywords=["办事指南", card.basic_code, *card.elements.keywords],
        creator="Wanshi 皖事",
        lang="zh-CN",
        invariant=True,
    )
    footer = _Footer(styles.font, _pdf_date(issued_at))
    # reportlab keeps each TrueType font's subsetting state on the shared font object: two documents built at
    # once corrupt it (a KeyError on a glyph, or different bytes). Guides are cached per published version, so
    # building one at a time costs little.
    with _build_lock:
        document.build(
            _story(card, issued_at, url, styles),
            canvasmaker=lambda *args, **kwargs: _NumberedCanvas(*args, footer=footer, **kwargs),
        )
    return out.getvalue()


class QrCode(Flowable):
    """A QR code drawn from segno's module matrix as vector squares, so it prints sharp at any size."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        # make_qr, not make: a short address would otherwise become a Micro QR, which phones do not read.
        self.matrix = [list(row) for row in segno.make_qr(data, error="m").matrix_iter(border=QR_BORDER)]
        self.size = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.size, self.size

    def draw(self) -> None:
        module = self.size / len(self.matrix)
        self.canv.setFillColor(colors.black)
        for r, row in enumerate(self.matrix):
            y = self.size - (r + 1) * module
            for start, length in _dark_runs(row):
                self.canv.rect(start * module, y, length * module, module, stroke=0, fill=1)


def _dark_runs(row: Sequence[int]) -> Iterable[tuple[int, int]]:
    start = None
    for c, dark in enumerate([*row, 0]):
        if dark and start is None:
            start = c
        elif not dark and start is not None:
            yield start, c - start
            start = None


class _Styles:
    def __init__(self, font: str) -> None:
        self.font = font

        def style(name: str, size: float, leading: float, **more: Any) -> ParagraphStyle:
            # CJK wrapping breaks between any two characters, so long addresses and URLs wrap too.
            return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **more)

        self.title = style("title", 18, 26, alignment=TA_CENTER, spaceAfter=2 * mm)
        self.heading = style("heading", 12.5, 18, spaceBefore=4 * mm, spaceAfter=1.5 * mm)
        self.subheading = style(
            "subheading", 10.5, 15, spaceBefore=1.5 * mm, spaceAfter=0.5 * mm, keepWithNext=1
        )
        self.body = style("body", 10, 15, spaceAfter=1 * mm)
        self.indented = style("indented", 10, 15, leftIndent=5 * mm, spaceAfter=1 * mm)
        self.cell = style("cell", 8.5, 12)
        self.header_cell = style("header_cell", 8.5, 12, alignment=TA_CENTER)
        self.caption = style("caption", 8, 11, alignment=TA_CENTER)
        self.note = style("note", 8.5, 12, textColor=colors.HexColor("#404040"), spaceBefore=2 * mm)


def _text(value: str) -> str:
    """User text as Paragraph markup: escaped, its line breaks kept."""
    return "<br/>".join(escape(line) for line in value.splitlines()) or NONE


def _story(card: ItemCard, issued_at: datetime, url: str, s: _Styles) -> list[Flowable]:
    e = card.elements
    story: list[Flowable] = [Paragraph(_text(card.title), s.title), _masthead(card, url, s)]
    sections = (
        ("一、适用范围与设定依据", _scope(e, s)),
        ("二、受理条件", _conditions(e, s)),
        ("三、申请材料", _materials(e, s)),
        ("四、办理流程", _process(e, s)),
        ("五、办理时限", _limits(e, s)),
        ("六、收费标准", _fees(e, s)),
        ("七、办理地点和时间", _places(e, s)),
        ("八、咨询和投诉", _contacts(e, s)),
        ("九、常见问题", _faq(e, s)),
    )
    for heading, body in sections:
        # A heading never ends a page alone. KeepTogether would not do: it moves a whole table that is
        # longer than the rest of the page to the next one, leaving the rest blank.
        story += [CondPageBreak(SECTION_START), Paragraph(heading, s.heading), *body]
    story.append(
        Paragraph(
            f"本指南依据 {_day(issued_at)} 公布的事项信息生成，"
            "如有变动，以扫描二维码查看的网上办事指南为准。",
            s.note,
        )
    )
    return story


def _masthead(card: ItemCard, url: str, s: _Styles) -> Table:
    e = card.elements
    nature = card.document.body_nature.label
    rows = [
        ("基本编码", card.basic_code),
        ("实施编码", card.code),
        ("实施主体", f"{card.organisation_name}（{nature}）"),
        ("事项类型", e.item_type.label),
        ("办件类型", e.case_type.label),
        ("服务对象", "、".join(a.label for a in e.audience)),
        ("所属区划", card.division_name),
    ]
    info = Table(
        [[Paragraph(label, s.cell), Paragraph(_text(value), s.cell)] for label, value in rows],
        colWidths=[18 * mm, FRAME_WIDTH - QR_SIZE - 24 * mm],
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]),
    )
    qr = Table(
        [[QrCode(url, QR_SIZE)], [Paragraph("扫码查看网上办事指南", s.caption)]],
        colWidths=[QR_SIZE + 4 * mm],
        style=TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]),
    )
    return Table(
        [[info, qr]],
        colWidths=[FRAME_WIDTH - QR_SIZE - 4 * mm, QR_SIZE + 4 * mm],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
            ]
        ),
    )


def _scope(e: Elements, s: _Styles) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("（一）适用范围", s.subheading)]
    scope = e.summary or f"适用于{'、'.join(a.label for a in e.audience)}申请办理“{e.name}”。"
    out.append(Paragraph(_text(scope), s.body))
    if e.level:
        out.append(Paragraph(f"行使层级：{'、'.join(level.label for level in e.level)}", s.body))
    # Here rather than in the masthead, which cannot run over a page: the list of joint bodies may be long.
    if e.entrusted_by:
        out.append(Paragraph(f"委托部门：{_text(e.entrusted_by)}", s.body))
    if e.joint_bodies:
        out.append(Paragraph(f"联办机构：{_text('、'.join(e.joint_bodies))}", s.body))
    out.append(Paragraph("（二）设定依据", s.subheading))
    if not e.basis:
        out.append(Paragraph("未列明。", s.body))
    for n, basis in enumerate(e.basis, 1):
        name = basis.name if basis.name.startswith("《") else f"《{basis.name}》"
        out.append(Paragraph(f"{n}. {escape(name)}", s.body))
        if basis.article:
            out.append(Paragraph(_text(basis.article), s.indented))
    return out


def _conditions(e: Elements, s: _Styles) -> list[Flowable]:
    if not e.conditions:
        return [Paragraph("未列明特别受理条件。", s.body)]
    return [Paragraph(f"{n}. {_text(c)}", s.body) for n, c in enumerate(e.conditions, 1)]


MATERIAL_COLUMNS = (
    ("序号", 10 * mm),
    ("材料名称", 38 * mm),
    ("必要性", 15 * mm),
    ("形式", 18 * mm),
    ("份数", 9 * mm),
    ("来源", 21 * mm),
    ("免提交", 28 * mm),
)


def _materials(e: Elements, s: _Styles) -> list[Flowable]:
    if not e.materials:
        return [Paragraph("无需提交申请材料。", s.body)]
    remarks_width = FRAME_WIDTH - sum(width for _, width in MATERIAL_COLUMNS)
    widths = [width for _, width in MATERIAL_COLUMNS] + [remarks_width]
    header = [label for label, _ in MATERIAL_COLUMNS] + ["备注"]
    rows = [
        [
            str(n),
            _text(m.name),
            m.necessity.label,
            m.form.label,
            str(m.copies) if m.copies else NONE,
            m.source.label,
            _waiver(m),
            _remarks(m),
        ]
        for n, m in enumerate(e.materials, 1)
    ]
    out: list[Flowable] = [_grid(header, rows, widths, s)]
    if any(m.deferrable for m in e.materials):
        out.append(Paragraph("注：标注“可容缺受理”的材料，可先行受理，在规定期限内补正。", s.note))
    if any(m.replaceable for m in e.materials):
        out.append(
            Paragraph("注：列明“免提交”的材料，可通过电子证照或基础数据共享获取，申请人无需提交。", s.note)
        )
    return out


def _waiver(m: Material) -> str:
    ways = []
    if m.licence_type:
        ways.append(f"电子证照：{escape(m.licence_type)}")
    if m.registry is not None:
        ways.append(f"{m.registry.registry.label}共享")
    return "<br/>".join(ways) or NONE


def _remarks(m: Material) -> str:
    notes = []
    if m.deferrable:
        notes.append("可容缺受理")
    if m.blank_form:
        notes.append(f"空白表格：{escape(m.blank_form)}")
    if m.sample:
        notes.append(f"示例样表：{escape(m.sample)}")
    if m.standard:
        notes.append(f"受理标准：{_text(m.standard)}")
    if m.basis:
        notes.append(f"依据：{escape(m.basis)}")
    return "<br/>".join(notes) or NONE


def _process(e: Elements, s: _Styles) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("（一）办理步骤", s.subheading)]
    if not e.process:
        out.append(Paragraph("未列明办理步骤，请向办理窗口咨询。", s.body))
    for n, step in enumerate(e.process, 1):
        out.append(Paragraph(f"{n}. {escape(step.name)}", s.body))
        if step.description:
            out.append(Paragraph(_text(step.description), s.indented))
    out.append(Paragraph("（二）办理方式", s.subheading))
    visits = f"{e.visits} 次" + (f"（{escape(e.visits_reason)}）" if e.visits_reason else "")
    lines = [
        f"办理形式：{'、'.join(form.label for form in e.forms)}",
        f"到办事现场次数：{visits}",
        f"网上办理：{_online(e)}",
        f"预约办理：{_yes(e.booking)}；物流快递：{_yes(e.delivery)}",
    ]
    if e.result is not None:
        lines.append(f"办理结果：{escape(e.result.name)}（{e.result.type.label}）")
    if e.intermediary:
        lines.append(f"中介服务：{_text(e.intermediary)}")
    out.extend(Paragraph(line, s.body) for line in lines)
    return out


def _online(e: Elements) -> str:
    if not e.online:
        return "不支持"
    depth = ONLINE_DEPTH_LABELS[e.online_depth] if e.online_depth else "支持"
    return depth + (f"，网办地址：{escape(e.online_url)}" if e.online_url else "")


def _yes(flag: bool) -> str:
    return "支持" if flag else "不支持"


def _limits(e: Elements, s: _Styles) -> list[Flowable]:
    return [
        Paragraph(f"法定办结时限：{escape(e.legal_limit.shown)}", s.body),
        Paragraph(f"承诺办结时限：{escape(e.promised_limit.shown)}", s.body),
    ]


def _fees(e: Elements, s: _Styles) -> list[Flowable]:
    if not e.charged:
        return [Paragraph("本事项不收费。", s.body)]
    rows = [
        [
            _text(f.name),
            _text(f.standard),
            _text(f.basis) if f.basis else NONE,
            "可减免" if f.reducible else "否",
        ]
        for f in e.fees
    ]
    widths = [45 * mm, 55 * mm, FRAME_WIDTH - 118 * mm, 18 * mm]
    return [
        _grid(["收费项目", "收费标准", "收费依据", "减免"], rows, widths, s),
        Paragraph(f"网上支付：{_yes(e.online_payment)}", s.note),
    ]


def _places(e: Elements, s: _Styles) -> list[Flowable]:
    if not e.places:
        return [Paragraph("未公布窗口办理地点，请通过网上办理或咨询电话了解。", s.body)]
    rows = [
        [
            _text(p.name),
            _text(p.address),
            _text(p.hours) if p.hours else NONE,
            _text(p.phone) if p.phone else NONE,
        ]
        for p in e.places
    ]
    widths = [40 * mm, FRAME_WIDTH - 118 * mm, 48 * mm, 30 * mm]
    return [_grid(["办理地点", "地址", "办理时间", "联系电话"], rows, widths, s)]


def _contacts(e: Elements, s: _Styles) -> list[Flowable]:
    return [
        Paragraph(f"咨询方式：{_text(e.consult) if e.consult else NONE}", s.body),
        Paragraph(f"监督投诉方式：{_text(e.complaint) if e.complaint else NONE}", s.body),
    ]


def _faq(e: Elements, s: _Styles) -> list[Flowable]:
    if not e.faq:
        return [Paragraph("暂无。", s.body)]
    out: list[Flowable] = []
    for n, q in enumerate(e.faq, 1):
        out.append(Paragraph(f"{n}. 问：{_text(q.question)}", s.body))
        out.append(Paragraph(f"答：{_text(q.answer)}", s.indented))
    return out


def _grid(header: list[str], rows: list[list[str]], widths: list[float], s: _Styles) -> Table:
    """A ruled table whose header repeats on every page and whose rows may split across pages, so a cell
    longer than a page is continued rather than cut."""
    data: list[list[Paragraph | list[Paragraph]]] = [[Paragraph(h, s.header_cell) for h in header]]
    # Each cell a list of flowables: the form reportlab's split of a row across pages is written for.
    data += [[[Paragraph(cell, s.cell)] for cell in row] for row in rows]
    return Table(
        data,
        colWidths=widths,
        repeatRows=1,
        # A row that crosses the foot of a page is split there, as word processors do, if at least
        # ROW_SPLIT_MIN of it fits; otherwise it moves to the next page whole. Splitting by row first
        # would, for a row longer than the rest of the page, leave that space to a repeated header.
        splitByRow=0,
        splitInRow=ROW_SPLIT_MIN,
        style=TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                ("VALIGN", (0, 1), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )


def _day(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _pdf_date(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return f"D:{moment:%Y%m%d%H%M%S}"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"D:{moment:%Y%m%d%H%M%S}{sign}{hours:02d}'{rest:02d}'"


@dataclass(frozen=True)
class _Footer:
    font: str
    pdf_date: str


class _NumberedCanvas(Canvas):
    """Holds every page back until the end, so each footer can say how many pages there are."""

    def __init__(self, *args: Any, footer: _Footer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []
        # Invariant mode fixes the file's ID; the dates it would fix to 2000-01-01 become the issue time.
        self.setDateFormatter(lambda *_: footer.pdf_date)

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        # Begins a fresh page without writing this one out; reportlab has no public call for that.
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        self.saveState()
        self.setStrokeColor(GRID)
        self.setLineWidth(0.5)
        self.line(MARGIN, MARGIN + 2 * mm, PAGE_WIDTH - MARGIN, MARGIN + 2 * mm)
        self.setFont(self._footer.font, 9)
        self.drawCentredString(PAGE_WIDTH / 2, MARGIN - 3 * mm, f"第 {number} 页 共 {total} 页")
        self.restoreState()
