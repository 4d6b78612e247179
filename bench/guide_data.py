"""Plausible guide documents at scale (10,000 and more) and questions about them, for the guide benchmark.

Items are built from what a provincial catalogue holds: a thing (证照, 许可, 待遇 ...) and what is done with
it (核发, 变更, 注销 ...), a department, themes, keywords, a summary, conditions and materials drawn from
shared pools (materials repeat across items, as in real catalogues). Bundles join items of one life event.
Seeded: the same count gives the same documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from wanshi.items.guide import GuideDocument

THINGS = (
    ("营业执照", "市场监督管理局", "开办企业", ("执照", "开店")),
    ("食品经营许可证", "市场监督管理局", "开办企业", ("餐饮", "饭店")),
    ("食品生产许可证", "市场监督管理局", "经营", ("食品厂",)),
    ("药品经营许可证", "市场监督管理局", "经营", ("药店",)),
    ("医疗器械经营备案", "市场监督管理局", "经营", ("医疗器械",)),
    ("特种设备使用登记证", "市场监督管理局", "经营", ("电梯", "锅炉")),
    ("烟草专卖零售许可证", "烟草专卖局", "经营", ("卖烟",)),
    ("酒类经营许可证", "商务局", "经营", ("卖酒",)),
    ("公共场所卫生许可证", "卫生健康委员会", "开办企业", ("卫生许可",)),
    ("医疗机构执业许可证", "卫生健康委员会", "医疗卫生", ("诊所",)),
    ("医师执业证书", "卫生健康委员会", "医疗卫生", ("医生",)),
    ("护士执业证书", "卫生健康委员会", "医疗卫生", ("护士",)),
    ("出生医学证明", "卫生健康委员会", "生育收养", ("出生证",)),
    ("生育服务证", "卫生健康委员会", "生育收养", ("准生证",)),
    ("预防接种证", "疾病预防控制中心", "生育收养", ("打疫苗",)),
    ("居民身份证", "公安局", "户籍办理", ("身份证",)),
    ("临时居民身份证", "公安局", "户籍办理", ("临时身份证",)),
    ("居住证", "公安局", "户籍办理", ("暂住证",)),
    ("户口", "公安局", "户籍办理", ("户籍", "户口本")),
    ("普通护照", "公安局出入境管理支队", "出入境", ("护照",)),
    ("往来港澳通行证", "公安局出入境管理支队", "出入境", ("港澳通行证",)),
    ("机动车驾驶证", "公安局交通警察支队", "交通出行", ("驾照",)),
    ("机动车行驶证", "公安局交通警察支队", "交通出行", ("行驶证",)),
    ("机动车号牌", "公安局交通警察支队", "交通出行", ("车牌", "上牌")),
    ("道路运输经营许可证", "交通运输局", "交通出行", ("货运", "客运")),
    ("网络预约出租汽车驾驶员证", "交通运输局", "交通出行", ("网约车",)),
    ("建设工程规划许可证", "自然资源和规划局", "工程建设", ("规划许可",)),
    ("建设用地规划许可证", "自然资源和规划局", "工程建设", ("用地",)),
    ("建筑工程施工许可证", "住房和城乡建设局", "工程建设", ("施工许可", "开工")),
    ("建筑业企业资质", "住房和城乡建设局", "工程建设", ("资质",)),
    ("不动产权证书", "不动产登记中心", "住房保障", ("房产证", "房本")),
    ("商品房预售许可证", "住房和城乡建设局", "住房保障", ("预售证",)),
    ("住房公积金", "住房公积金管理中心", "住房保障", ("公积金",)),
    ("公共租赁住房", "住房和城乡建设局", "住房保障", ("公租房",)),
    ("基本养老保险", "人力资源和社会保障局", "社会保障", ("养老保险",)),
    ("基本养老金", "人力资源和社会保障局", "社会保障", ("养老金", "退休金")),
    ("失业保险金", "人力资源和社会保障局", "就业创业", ("失业金",)),
    ("工伤保险待遇", "人力资源和社会保障局", "社会保障", ("工伤",)),
    ("社会保障卡", "人力资源和社会保障局", "社会保障", ("社保卡",)),
    ("创业担保贷款", "人力资源和社会保障局", "就业创业", ("创业贷款",)),
    ("职业技能等级证书", "人力资源和社会保障局", "就业创业", ("技能证书",)),
    ("城乡居民基本医疗保险", "医疗保障局", "社会保障", ("医保",)),
    ("异地就医备案", "医疗保障局", "社会保障", ("异地就医",)),
    ("生育津贴", "医疗保障局", "生育收养", ("生育保险",)),
    ("最低生活保障", "民政局", "社会救助", ("低保",)),
    ("特困人员救助供养", "民政局", "社会救助", ("五保",)),
    ("临时救助", "民政局", "社会救助", ("救助",)),
    ("婚姻登记", "民政局", "婚姻家庭", ("结婚", "离婚")),
    ("收养登记", "民政局", "婚姻家庭", ("领养",)),
    ("残疾人证", "残疾人联合会", "社会救助", ("残疾证",)),
    ("高龄津贴", "民政局", "养老服务", ("高龄补贴",)),
    ("养老机构备案", "民政局", "养老服务", ("养老院",)),
    ("社会团体登记", "民政局", "社会组织", ("社团", "协会")),
    ("惠民殡葬补贴", "民政局", "身后事", ("丧葬补贴",)),
    ("丧葬补助金", "人力资源和社会保障局", "身后事", ("丧葬费", "抚恤金")),
    ("居民死亡医学证明", "卫生健康委员会", "身后事", ("死亡证明",)),
    ("教师资格证", "教育局", "教育科研", ("教资",)),
    ("民办学校办学许可证", "教育局", "教育科研", ("办学许可",)),
    ("义务教育入学", "教育局", "教育科研", ("上学", "入学")),
    ("学生资助", "教育局", "教育科研", ("助学金",)),
    ("排污许可证", "生态环境局", "生态环境", ("排污证",)),
    ("建设项目环境影响评价文件", "生态环境局", "生态环境", ("环评",)),
    ("取水许可证", "水利局", "生态环境", ("取水",)),
    ("林木采伐许可证", "林业局", "农林牧渔", ("砍树",)),
    ("动物防疫条件合格证", "农业农村局", "农林牧渔", ("养殖",)),
    ("农药经营许可证", "农业农村局", "农林牧渔", ("农药",)),
    ("渔业捕捞许可证", "农业农村局", "农林牧渔", ("捕鱼",)),
    ("农村土地承包经营权", "农业农村局", "农林牧渔", ("承包地",)),
    ("宅基地使用", "农业农村局", "住房保障", ("农村建房",)),
    ("烟花爆竹经营许可证", "应急管理局", "安全生产", ("烟花",)),
    ("危险化学品经营许可证", "应急管理局", "安全生产", ("危化品",)),
    ("安全生产许可证", "应急管理局", "安全生产", ("安全许可",)),
    ("消防安全检查", "消防救援支队", "安全生产", ("消防",)),
    ("建设工程消防验收", "住房和城乡建设局", "工程建设", ("消防验收",)),
    ("户外广告设置许可", "城市管理局", "城乡建设", ("招牌", "店招")),
    ("城市道路占用挖掘许可", "城市管理局", "城乡建设", ("占道", "挖路")),
    ("建筑垃圾处置核准", "城市管理局", "城乡建设", ("渣土",)),
    ("税务登记", "税务局", "税收财务", ("报税", "办税")),
    ("发票领用", "税务局", "税收财务", ("领发票",)),
    ("出口退税备案", "税务局", "税收财务", ("出口退税",)),
    ("对外贸易经营者备案", "商务局", "经营", ("外贸",)),
    ("外商投资企业设立", "商务局", "开办企业", ("外资",)),
    ("企业投资项目备案", "发展和改革委员会", "投资审批", ("项目备案", "立项")),
    ("企业投资项目核准", "发展和改革委员会", "投资审批", ("项目核准",)),
    ("退役军人优待证", "退役军人事务局", "优待抚恤", ("退伍",)),
    ("法律援助", "司法局", "司法公证", ("打官司",)),
    ("公证", "公证处", "司法公证", ("公证书",)),
    ("无犯罪记录证明", "公安局", "户籍办理", ("良民证",)),
    ("人力资源服务许可证", "人力资源和社会保障局", "就业创业", ("职业中介",)),
    ("劳务派遣经营许可证", "人力资源和社会保障局", "就业创业", ("劳务派遣",)),
    ("劳动人事争议仲裁", "人力资源和社会保障局", "就业创业", ("劳动仲裁", "讨薪")),
    ("犬只登记", "公安局", "其他", ("养狗", "狗证")),
    ("网吧经营许可证", "文化和旅游局", "文化体育", ("网吧",)),
    ("娱乐场所经营许可证", "文化和旅游局", "文化体育", ("KTV", "歌厅")),
    ("旅馆业特种行业许可证", "公安局", "经营", ("宾馆", "民宿")),
    ("印章刻制", "公安局", "开办企业", ("刻章", "公章")),
    ("供电报装", "供电公司", "水电气暖", ("用电", "接电")),
    ("供水报装", "自来水公司", "水电气暖", ("用水", "接水")),
    ("燃气报装", "燃气公司", "水电气暖", ("天然气", "通燃气")),
)
ACTIONS = (
    "核发",
    "申领",
    "变更",
    "延续",
    "注销",
    "补办",
    "换发",
    "备案",
    "登记",
    "审批",
    "认定",
    "查询",
    "迁移",
    "转移",
    "撤销",
    "年检",
    "核准",
    "设立",
    "签发",
    "证明开具",
    "信息更正",
    "停业",
    "复业",
)
QUALIFIERS = (
    "",
    "（个体工商户）",
    "（企业）",
    "（农民专业合作社）",
    "（首次申请）",
    "（跨省通办）",
    "（省内通办）",
    "（网上办理）",
    "（外国人）",
    "（港澳台居民）",
    "（分支机构）",
    "（遗失）",
    "（损坏）",
    "（到期）",
)
MATERIALS = (
    "居民身份证",
    "户口簿",
    "营业执照",
    "申请表",
    "法定代表人身份证明",
    "授权委托书",
    "经营场所证明",
    "房屋租赁合同",
    "不动产权证书",
    "结婚证",
    "出生医学证明",
    "近期免冠照片",
    "体检证明",
    "学历证明",
    "劳动合同",
    "社会保障卡",
    "公司章程",
    "股东会决议",
    "验资报告",
    "安全管理制度",
    "检测报告",
    "环境影响评价文件",
    "施工图审查合格书",
    "建设工程规划许可证",
    "土地使用证明",
    "消防设计文件",
    "承诺书",
    "银行账户信息",
    "死亡证明",
    "火化证明",
    "退休审批表",
    "医疗费用票据",
    "病历资料",
    "残疾评定材料",
    "收入证明",
    "家庭财产情况说明",
    "户籍证明",
    "居住证",
    "车辆购置发票",
    "机动车交通事故责任强制保险凭证",
    "驾驶人体检证明",
    "原证件",
    "遗失声明",
)
CONDITIONS = (
    "申请人具有完全民事行为能力",
    "申请人为本省户籍居民或持有本省居住证",
    "有与经营规模相适应的经营场所和设备",
    "有健全的安全管理制度和操作规程",
    "达到国家规定的法定退休年龄且累计缴费满十五年",
    "家庭人均收入低于当地最低生活保障标准",
    "符合国家产业政策和行业准入条件",
    "从业人员取得相应的健康证明或资格证书",
    "申请材料齐全、符合法定形式",
    "近三年内无重大违法违规记录",
    "建设项目已取得用地批准手续",
    "已依法办理工商登记",
    "持有效身份证件",
)
SUMMARY = (
    "{thing}{action}是{dept}依法办理的政务服务事项。申请人可通过皖事通、安徽政务服务网或窗口提交申请，"
    "经受理、审查后作出决定，{outcome}。",
    "为方便群众和企业办事，{dept}提供{thing}{action}服务，申请人按要求准备材料后即可申请，"
    "符合条件的当场或在承诺时限内办结，{outcome}。",
    "本事项适用于需要办理{thing}{action}的{who}。{dept}对申请材料进行审核，{outcome}，"
    "全程可网上查询办理进度。",
)
OUTCOMES = ("准予许可并发放证照", "出具办理结果", "办理结果可邮寄送达", "电子证照同步生成", "发放相关待遇")
WHO = ("自然人", "企业", "个体工商户", "社会组织", "农民专业合作社")
EVENTS = (
    ("出生", "新生儿出生", ("生孩子", "生娃")),
    ("入学", "子女入学", ("上学",)),
    ("就业", "就业创业", ("找工作",)),
    ("婚育", "结婚生育", ("结婚", "领证")),
    ("安居", "购房安居", ("买房",)),
    ("退休", "退休", ("办退休",)),
    ("身后事", "身后", ("去世", "过世")),
    ("开办企业", "开办企业", ("开公司", "开店")),
    ("经营", "企业经营", ("经营",)),
    ("工程建设", "工程建设项目审批", ("盖楼", "开工")),
    ("注销", "企业注销", ("关门", "歇业")),
)
PLACES = ("", "开办餐饮店", "开办超市", "开办药店", "开办理发店", "开办宾馆", "开办网吧", "开办诊所")


@dataclass(frozen=True)
class Question:
    text: str
    key: str  # the document the question was made from


def documents(count: int, seed: int = 5) -> list[GuideDocument]:
    """``count`` documents, about one in fifty a bundle."""
    rng = random.Random(seed)
    combos = [(t, a, q) for t in THINGS for a in ACTIONS for q in QUALIFIERS]
    rng.shuffle(combos)
    bundles = max(count // 50, 1)
    items = [_item(i, combo, rng) for i, combo in enumerate(combos[: count - bundles])]
    while len(items) < count - bundles:  # more than the combinations: the same item in another province
        items.append(_item(len(items), combos[len(items) % len(combos)], rng, suffix=f"（{len(items)}）"))
    return items + [_bundle(i, items, rng) for i in range(bundles)]


def _item(
    at: int,
    combo: tuple[tuple[str, str, str, tuple[str, ...]], str, str],
    rng: random.Random,
    suffix: str = "",
) -> GuideDocument:
    (thing, dept, theme, words), action, qualifier = combo
    summary = rng.choice(SUMMARY).format(
        thing=thing, action=action, dept=dept, outcome=rng.choice(OUTCOMES), who=rng.choice(WHO)
    )
    audience = rng.choice((("person",), ("enterprise",), ("person", "enterprise")))
    return GuideDocument(
        key=f"{at // 1000 + 301:03d}A{at:010d}",
        kind="item",
        title=f"{thing}{action}{qualifier}{suffix}",
        audience=audience,
        department=dept,
        themes=(theme,),
        keywords=(*words, f"{thing}{action}"),
        outcome=thing if action in ("核发", "签发", "换发", "补办") else "",
        summary=summary,
        conditions=tuple(rng.sample(CONDITIONS, 2)),
        materials=tuple(rng.sample(MATERIALS, rng.randint(3, 7))),
    )


def _bundle(at: int, items: list[GuideDocument], rng: random.Random) -> GuideDocument:
    event, name, words = EVENTS[at % len(EVENTS)]
    place = PLACES[at % len(PLACES)] if event == "开办企业" else ""
    parts = rng.sample(items, rng.randint(3, 8))
    variant = "" if at < len(EVENTS) else f"（{at // len(EVENTS) + 1}）"
    return GuideDocument(
        key=f"LIFE-{at + 1:03d}",
        kind="bundle",
        title=f"{place or name}一件事{variant}",
        audience=("enterprise",) if event in ("开办企业", "经营", "工程建设", "注销") else ("person",),
        keywords=words,
        summary=f"{name}涉及的" + "、".join(p.title for p in parts) + "等事项一次告知、一表申请、一次办结。",
        life_event=event,
        parts=tuple(p.title for p in parts),
    )


def questions(docs: list[GuideDocument], count: int, seed: int = 7) -> list[Question]:
    """Questions in the shapes the guide meets: titles, keywords, misspellings, pinyin initials, sentences."""
    from pypinyin import lazy_pinyin

    rng = random.Random(seed)
    items = [d for d in docs if d.kind == "item"]
    out: list[Question] = []
    shapes = ("title", "keyword", "homophone", "initials", "sentence", "event")
    for n in range(count):
        doc = rng.choice(items)
        shape = shapes[n % len(shapes)]
        keyword = rng.choice(doc.keywords)
        if shape == "title":
            text = doc.title
        elif shape == "keyword":
            text = keyword
        elif shape == "homophone":
            text = keyword.replace("证", "正").replace("执", "职").replace("生", "身").replace("记", "纪")
        elif shape == "initials":
            text = "".join(s[0] for s in lazy_pinyin(keyword) if s)
        elif shape == "sentence":
            shape_of = rng.choice(("我想办{k}需要什么材料", "{k}怎么办理", "请问{k}在哪里办", "{k}要多久"))
            text = shape_of.format(k=keyword)
        else:
            event = rng.choice(EVENTS)
            shape_of = rng.choice(("{w}了要办哪些手续", "我想{w}需要办什么", "{w}要办什么"))
            text = shape_of.format(w=rng.choice(event[2]))
        out.append(Question(text, doc.key))
    return out
