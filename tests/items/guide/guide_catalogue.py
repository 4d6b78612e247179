"""A small catalogue the guide's tests search: items and bundles as the Anhui catalogue holds them."""

from __future__ import annotations

from wanshi.items.guide import Bm25Index, GuideDocument, GuideIndex

D = GuideDocument
CATALOGUE = (
    D("301A0000000001", "item", "营业执照核发（个体工商户）", ("person", "enterprise"), "市场监督管理局",
      ("开办企业",), ("个体户",), "营业执照", "个体工商户设立登记，领取营业执照。",
      materials=("居民身份证", "经营场所证明")),
    D("301A0000000002", "item", "食品经营许可", ("enterprise",), "市场监督管理局", ("开办企业",),
      ("餐饮服务", "食品经营许可证"), "食品经营许可证", "从事食品销售和餐饮服务，应当取得食品经营许可。",
      materials=("营业执照", "食品安全管理制度")),
    D("302A0000000003", "item", "出生医学证明签发", ("person",), "卫生健康委员会", ("生育收养",), (),
      "出生医学证明", "为在本省出生的新生儿签发出生医学证明。", materials=("父母居民身份证",)),
    D("303A0000000004", "item", "出生登记", ("person",), "公安局", ("户籍办理",), ("户口登记",), "",
      "新生儿出生后由监护人申报户口。", materials=("出生医学证明", "户口簿")),
    D("304A0000000005", "item", "城乡居民医保参保登记", ("person",), "医疗保障局", ("社会保障",), ("参保",),
      "", "城乡居民基本医疗保险参保登记。", materials=("居民身份证",)),
    D("305A0000000006", "item", "基本养老金申领", ("person",), "人力资源和社会保障局", ("社会保障",),
      ("养老金",), "", "参保人员达到法定退休年龄，申领基本养老金。", materials=("居民身份证", "社会保障卡")),
    D("306A0000000007", "item", "内地居民婚姻登记（结婚登记）", ("person",), "民政局", ("婚姻家庭",),
      ("结婚",), "结婚证", "内地居民结婚登记。", materials=("居民身份证", "户口簿")),
    D("303A0000000008", "item", "普通护照签发", ("person",), "公安局出入境管理支队", ("出入境",),
      ("护照",), "普通护照", "中国公民因私出国申请普通护照。", materials=("居民身份证",)),
    D("307A0000000009", "item", "企业投资项目核准", ("enterprise",), "发展和改革委员会", ("投资审批",),
      ("项目核准",), "", "企业投资建设项目核准。", materials=("项目申请报告",)),
    D("302A0000000010", "item", "生育服务证办理", ("person",), "卫生健康委员会", ("生育收养",),
      ("准生证", "生育登记"), "生育服务证", "办理生育登记服务。", materials=("结婚证",)),
    D("301A0000000011", "item", "公司注销登记", ("enterprise",), "市场监督管理局", ("注销",), ("企业注销",),
      "", "公司解散清算后申请注销登记。", materials=("清算报告",)),
    D("LIFE-001", "bundle", "新生儿出生一件事", ("person",), "", (), ("生孩子",), "",
      "出生医学证明、户口登记、医保参保、社保卡一次办。", life_event="出生",
      parts=("出生医学证明签发", "出生登记", "城乡居民医保参保登记")),
    D("LIFE-002", "bundle", "退休一件事", ("person",), "", (), ("办退休",), "",
      "退休审批、养老金申领、医保待遇核定一次办。", life_event="退休", parts=("基本养老金申领",)),
    D("LIFE-003", "bundle", "开办餐饮店一件事", ("enterprise",), "", (), ("开饭店",), "",
      "营业执照、食品经营许可、公共场所卫生许可一次办。", life_event="开办企业",
      parts=("营业执照核发（个体工商户）", "食品经营许可")),
)  # fmt: skip


def first(index: GuideIndex | Bm25Index, query: str, audience: str | None = None) -> str | None:
    hits = index.search(query, audience=audience)
    return hits[0].key if hits else None


def keys(index: GuideIndex | Bm25Index, query: str, limit: int = 10) -> list[str]:
    return [h.key for h in index.search(query, limit=limit)]
