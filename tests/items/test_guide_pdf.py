"""The printable 办事指南: read back with poppler's pdftotext/pdfinfo/pdffonts, the QR code with zbarimg."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import segno
from reportlab.pdfbase.ttfonts import TTFont

from wanshi.items.domain.documents import ImplementationDocument
from wanshi.items.domain.views import ItemCard
from wanshi.items.guide_pdf import (
    GUIDE_FONT,
    FontFile,
    GuideFontMissing,
    QrCode,
    registered_font,
    render_guide,
)
from wanshi.kernel.errors import ValidationFailed

ISSUED_AT = datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
URL = "https://wanshi.example.gov.cn/items/511A0138000000-340104000000-000-91110000600037341L-1-00"
BODY = "91110000600037341L"
CODE = f"511A0138000000-340104000000-000-{BODY}-1-00"
SECTIONS = [
    "一、适用范围与设定依据",
    "二、受理条件",
    "三、申请材料",
    "四、办理流程",
    "五、办理时限",
    "六、收费标准",
    "七、办理地点和时间",
    "八、咨询和投诉",
    "九、常见问题",
]
MATERIAL_HEADER = "序号材料名称必要性形式份数来源免提交备注"


def elements(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "食品经营许可",
        "item_type": "行政许可",
        "audience": ["法人"],
        "summary": "在本市从事食品销售和餐饮服务活动的经营者。",
        "basis": [{"name": "中华人民共和国食品安全法", "article": "第三十五条 国家对食品经营实行许可制度。"}],
        "conditions": ["具有与经营的食品品种相适应的经营场所", "有专职食品安全管理人员"],
        "joint_bodies": ["区卫生健康委员会", "区消防救援大队"],
        "legal_limit": {"value": 20},
        "promised_limit": {"value": 5},
        "charged": True,
        "fees": [{"name": "证书工本费", "standard": "每证十元", "basis": "皖价费〔2020〕18号"}],
        "process": [{"name": "网上申请", "description": "登录皖事通提交"}, {"name": "审查决定"}],
        "visits": 1,
        "visits_reason": "现场核查经营场所",
        "places": [
            {
                "name": "庐阳区政务服务中心",
                "address": "合肥市庐阳区濉溪路二八七号",
                "hours": "工作日上午九时至下午五时",
                "phone": "0551-65123456",
            }
        ],
        "consult": "拨打0551-65123457咨询",
        "complaint": "12345政务服务便民热线投诉",
        "faq": [{"question": "营业执照遗失能否申请", "answer": "请先补领营业执照再申请"}],
        "materials": [
            {"name": "食品经营许可申请书", "form": "电子"},
            {"name": "营业执照复印件", "licence_type": "营业执照", "source": "政府部门核发"},
            {"name": "法定代表人身份证明", "registry": {"registry": "人口库", "fields": ["name"]}},
            {"name": "食品安全管理制度文本", "necessity": "情形必要", "deferrable": True},
        ],
    }
    return base | changes


def card(**changes: Any) -> ItemCard:
    document = ImplementationDocument(elements=elements(**changes), body_code=BODY, business_name="新办")
    return ItemCard(
        code=CODE,
        basic_code="511A0138000000",
        version=3,
        organisation_id=7,
        organisation_name="合肥市庐阳区市场监督管理局",
        division_code="340103",
        division_name="合肥市庐阳区",
        document=document,
        published_at=None,
    )


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install poppler-utils")
    return path


def write(pdf: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf)
    return path


def pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """Each page's text without whitespace: table cells and CJK lines wrap wherever the layout puts them.
    Raw mode keeps the order the text was drawn in, so a table cell's lines stay together."""
    out = subprocess.run(
        [tool("pdftotext"), "-raw", "-enc", "UTF-8", str(write(pdf, tmp_path)), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [re.sub(r"\s+", "", page) for page in out.split("\f")[:-1]]


def info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    out = subprocess.run(
        [tool("pdfinfo"), str(write(pdf, tmp_path))], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_guide_prints_every_element_a_reader_needs(tmp_path: Path) -> None:
    text = "".join(pages(render_guide(card(), issued_at=ISSUED_AT, url=URL), tmp_path))

    expected = [
        "食品经营许可（新办）",
        "511A0138000000",
        CODE,
        "合肥市庐阳区市场监督管理局（法定机关）",
        "行政许可",
        "承诺件",
        "《中华人民共和国食品安全法》",
        "第三十五条国家对食品经营实行许可制度。",
        "联办机构：区卫生健康委员会、区消防救援大队",
        "具有与经营的食品品种相适应的经营场所",
        "食品经营许可申请书",
        "营业执照复印件",
        "电子证照：营业执照",
        "法定代表人身份证明",
        "人口库共享",
        "食品安全管理制度文本",
        "情形必要",
        "可容缺受理",
        "网上申请",
        "登录皖事通提交",
        "到办事现场次数：1次（现场核查经营场所）",
        "法定办结时限：20个工作日",
        "承诺办结时限：5个工作日",
        "证书工本费",
        "每证十元",
        "皖价费〔2020〕18号",
        "庐阳区政务服务中心",
        "合肥市庐阳区濉溪路二八七号",
        "工作日上午九时至下午五时",
        "0551-65123456",
        "拨打0551-65123457咨询",
        "12345政务服务便民热线投诉",
        "营业执照遗失能否申请",
        "请先补领营业执照再申请",
        "扫码查看网上办事指南",
        "2024年5月1日",
    ]
    assert [phrase for phrase in expected if phrase not in text] == []
    positions = [text.find(heading) for heading in SECTIONS]
    assert -1 not in positions
    assert positions == sorted(positions)


def test_an_item_without_fees_places_or_questions_says_so(tmp_path: Path) -> None:
    bare = card(charged=False, fees=[], places=[], faq=[], materials=[], conditions=[], basis=[], process=[])
    text = "".join(pages(render_guide(bare, issued_at=ISSUED_AT, url=URL), tmp_path))

    assert "（二）设定依据未列明。" in text
    assert "二、受理条件未列明特别受理条件。" in text
    assert "未列明办理步骤" in text
    assert "本事项不收费。" in text
    assert "无需提交申请材料。" in text
    assert "未公布窗口办理地点" in text
    assert "九、常见问题暂无。" in text
    assert MATERIAL_HEADER not in text


def test_the_file_is_an_a4_pdf_titled_and_signed_by_the_implementing_body(tmp_path: Path) -> None:
    pdf = render_guide(card(), issued_at=ISSUED_AT, url=URL)
    meta = {key: value.strip() for key, value in info(pdf, tmp_path).items()}

    assert pdf.startswith(b"%PDF-")
    assert meta["Title"] == "食品经营许可（新办） 办事指南"
    assert meta["Author"] == "合肥市庐阳区市场监督管理局"
    assert meta["Subject"] == f"实施编码 {CODE}"
    assert meta["Page size"].startswith("595.276 x 841.89 pts (A4)")
    assert meta["CreationDate"].startswith("Wed May  1 01:30:00 2024 UTC")


def test_the_chinese_font_is_embedded_as_a_subset(tmp_path: Path) -> None:
    pdf = render_guide(card(), issued_at=ISSUED_AT, url=URL)
    fonts = subprocess.run(
        [tool("pdffonts"), str(write(pdf, tmp_path))], capture_output=True, text=True, check=True
    ).stdout
    cjk = [line.split() for line in fonts.splitlines() if "WenQuanYiMicroHei" in line]

    assert cjk
    # The emb, sub and uni columns: embedded, subset, and mapped to Unicode (so text can be copied and found).
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in cjk)


def test_sixty_materials_run_over_pages_under_a_repeated_header(tmp_path: Path) -> None:
    names = [f"第{n:02d}号证明材料" for n in range(1, 61)]
    many = card(materials=[{"name": name} for name in names])
    text = pages(render_guide(many, issued_at=ISSUED_AT, url=URL), tmp_path)

    with_materials = [page for page in text if any(name in page for name in names)]
    assert len(with_materials) >= 2
    assert all(page.count(MATERIAL_HEADER) == 1 for page in with_materials)
    assert [name for name in names if name not in "".join(text)] == []
    assert [f"第{n}页共{len(text)}页" in page for n, page in enumerate(text, 1)] == [True] * len(text)


def test_text_longer_than_a_page_continues_on_the_next_one(tmp_path: Path) -> None:
    standard = "".join(f"第{n}条材料须加盖公章并由经办人签字确认。" for n in range(1, 160))[:3900]
    answer = "".join(f"第{n}种情形请先到窗口咨询再行申请。" for n in range(1, 160))[:3900]
    long = card(
        materials=[
            {"name": "营业执照复印件"},
            {"name": "场所平面图", "standard": standard},
            {"name": "承诺书"},
        ],
        faq=[{"question": "还有哪些情形", "answer": answer}],
    )
    pages_text = pages(render_guide(long, issued_at=ISSUED_AT, url=URL), tmp_path)
    text = "".join(pages_text)
    # Read as one flow: without the page footers and the table header repeated at the top of each page.
    flow = re.sub(r"第\d+页共\d+页", "", text).replace(MATERIAL_HEADER, "")

    table_pages = [page for page in pages_text if MATERIAL_HEADER in page]
    assert len(table_pages) >= 3
    # Once a page: a long row is split at the foot of the page, not pushed below a second header.
    assert all(page.count(MATERIAL_HEADER) == 1 for page in table_pages)
    assert f"受理标准：{standard}" in flow
    assert f"答：{answer}" in flow
    assert "3承诺书" in flow


def test_markup_in_user_text_is_printed_as_written(tmp_path: Path) -> None:
    odd = card(materials=[{"name": "<b>甲&乙</b>证明"}], consult="电话<12345>")
    text = "".join(pages(render_guide(odd, issued_at=ISSUED_AT, url=URL), tmp_path))

    assert "<b>甲&乙</b>证明" in text
    assert "电话<12345>" in text


def test_the_same_guide_gives_the_same_bytes() -> None:
    first = render_guide(card(), issued_at=ISSUED_AT, url=URL)

    assert render_guide(card(), issued_at=ISSUED_AT, url=URL) == first
    assert render_guide(card(), issued_at=ISSUED_AT + timedelta(days=1), url=URL) != first


def test_a_guide_needs_the_online_address() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render_guide(card(), issued_at=ISSUED_AT, url="  ")
    assert caught.value.error_code == "pdf_url_missing"


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) decodes the QR code")
def test_the_qr_code_opens_the_online_guide(tmp_path: Path) -> None:
    pdf = write(render_guide(card(), issued_at=ISSUED_AT, url=URL), tmp_path)
    subprocess.run(
        [
            tool("pdftoppm"),
            "-r",
            "200",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
            str(pdf),
            str(tmp_path / "p1"),
        ],
        check=True,
    )
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "p1.png")], capture_output=True, text=True, check=True
    ).stdout

    assert decoded.strip() == URL


class RecordingCanvas:
    def __init__(self) -> None:
        self.squares: list[tuple[float, float, float, float]] = []

    def setFillColor(self, colour: Any) -> None:
        pass

    def rect(self, x: float, y: float, width: float, height: float, stroke: int, fill: int) -> None:
        assert (stroke, fill) == (0, 1)
        self.squares.append((x, y, width, height))


@pytest.mark.parametrize("url", ["https://a.cn/x", URL])
def test_the_qr_code_draws_segnos_matrix_row_by_row_from_the_top(url: str) -> None:
    matrix = [list(row) for row in segno.make_qr(url, error="m").matrix_iter(border=4)]
    size = len(matrix)
    code = QrCode(url, float(size))  # one point a module
    canvas = RecordingCanvas()
    code.canv = canvas  # type: ignore[assignment]
    code.draw()

    drawn = [[0] * size for _ in range(size)]
    for x, y, width, height in canvas.squares:
        assert height == 1
        row = size - 1 - round(y)
        for column in range(round(x), round(x + width)):
            drawn[row][column] = 1
    assert drawn == matrix
    assert code.wrap(500, 500) == (size, size)


def test_a_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    absent = FontFile(tmp_path / "absent.ttc", 0, "fonts-wqy-microhei", "AbsentFace")

    with pytest.raises(GuideFontMissing) as caught:
        registered_font(absent)
    assert caught.value.error_code == "pdf_font_missing"
    assert "fonts-wqy-microhei" in caught.value.message
    assert str(absent.path) in caught.value.message


def test_a_font_reportlab_cannot_read_is_reported_too(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font at all")

    with pytest.raises(GuideFontMissing) as caught:
        registered_font(FontFile(broken, 0, "fonts-wqy-microhei", "BrokenFace"))
    assert caught.value.error_code == "pdf_font_missing"
    assert "无法使用" in caught.value.message


def test_the_font_is_registered_once_however_many_threads_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []

    def slow_load(name: str, path: str, subfontIndex: int) -> Any:  # noqa: N803
        loads.append(name)
        time.sleep(0.05)  # widen the window in which a second thread could start loading too
        return TTFont(name, path, subfontIndex=subfontIndex)

    monkeypatch.setattr("wanshi.items.guide_pdf.TTFont", slow_load)
    font = replace(GUIDE_FONT, name="WanshiGuideSansThreads")
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(registered_font(font))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == ["WanshiGuideSansThreads"]
    assert names == ["WanshiGuideSansThreads"] * 6


def test_guides_rendered_on_several_threads_match_those_rendered_one_by_one() -> None:
    cards = [card(materials=[{"name": f"第{k}类第{n}号材料"} for n in range(1, 6 + 8 * k)]) for k in range(4)]
    alone = [render_guide(c, issued_at=ISSUED_AT, url=URL) for c in cards]

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda c: render_guide(c, issued_at=ISSUED_AT, url=URL), cards))

    assert together == alone
