"""Reading a citizen's question: what to drop (我想, 怎么, 哪些 ...), what to keep, and what it asks for.

Question words are removed as phrases before segmentation, because jieba glues them to the words around them
(我想开一家餐馆 cuts as 我/想开/一家/餐馆). A removed phrase leaves a space, so the words on either side are
never joined into a word neither meant. What remains is cut, and function words are dropped as tokens.

Two signals are read before anything is dropped. A question that asks for a list of things to do (哪些手续,
要办什么, 出生了) is life-event phrasing: the 一件事 bundle answers it. A question about a detail of one
service (材料, 多久, 多少钱, 在哪办) is about an item even when it names a life event. 地址 is not dropped:
改地址 is a service of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from wanshi.items.guide.segmenter import Segmenter

MAX_QUERY_CHARS = 200

# Asking what needs doing, as a list: the bundle of a life event answers it.
LIST_PHRASES = (
    "哪些",
    "办什么",
    "要办",
    "需要办",
    "手续",
    "都要",
    "都需要",
    "全部",
    "所有",
    "一次办",
    "要做什么",
    "做什么",
    "什么事",
    "该办",
    "需办",
    "办啥",
    "办些什么",
    "办些啥",
    "哪几样",
    "哪几个",
    "跑哪些",
)
# Asking about a detail of one service.
DETAIL_PHRASES = (
    "材料",
    "资料",
    "证件要带",
    "带什么",
    "准备什么",
    "条件",
    "多久",
    "几天",
    "多长时间",
    "时限",
    "费用",
    "多少钱",
    "收费",
    "收不收费",
    "要钱",
    "地点",
    "在哪",
    "去哪",
    "哪里办",
    "电话",
    "表格",
)
# Removed before segmentation; longest first, so that 怎么办理 goes before 怎么.
QUESTION_PHRASES = tuple(
    sorted(
        {
            *LIST_PHRASES,
            *DETAIL_PHRASES,
            "请问",
            "你好",
            "您好",
            "麻烦问",
            "我想问",
            "想问",
            "问一下",
            "咨询一下",
            "咨询",
            "我想",
            "我要",
            "我们",
            "想要",
            "打算",
            "准备",
            "需要",
            "需不需要",
            "要不要",
            "怎么办理",
            "怎么办",
            "怎么样",
            "怎么",
            "怎样",
            "如何",
            "咋办",
            "怎么操作",
            "如何操作",
            "咋操作",
            "咋弄",
            "咋",
            "想",
            "哪个",
            "哪里",
            "哪儿",
            "什么",
            "啥子",
            "一下",
            "能不能",
            "可不可以",
            "可以",
            "是否",
            "应该",
            "必须",
            "得要",
            "有没有",
            "办理",
            "去办",
            "在哪里",
            "多少",
            "该怎么",
            "谢谢",
            "帮忙",
            "帮我",
            "告诉我",
            "现在",
            "已经",
            "刚刚",
            "马上",
            "自己",
            "的话",
            "以后",
            "之后",
        },
        key=len,
        reverse=True,
    )
)
# Function words: single characters as one string, longer words listed.
STOP_WORDS = frozenset(
    (
        *"的了要办去想我你您他她它吗呢吧啊呀哦嘛在是有和跟给把被就都也还又能会该让对从为与及或等个这那啥么",
        *"刚得着过里上下咱俺时后前请帮弄搞整",
        *("一个", "一家", "一些", "一张", "一份", "这个", "那个", "这些", "那些", "他们", "她们", "家里"),
        *("我家", "咱们", "时候", "下来", "出来", "一起", "以及", "还有", "或者", "然后", "所以", "因为"),
        *("如果", "就是", "还是", "那边", "这边"),
        # On a government portal every service is the government's and some department's.
        *("政府", "部门", "相关部门"),
    )
)
PARTICLE_DONE = "了"  # 出生了, 退休了: something happened, what now
PUNCTUATION = re.compile(r"[^\w]+")
LATIN = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int

    @property
    def latin(self) -> bool:
        return bool(LATIN.match(self.text))


@dataclass(frozen=True)
class Question:
    text: str  # normalised, question phrases and punctuation replaced by spaces
    words: tuple[Word, ...]  # content words, with offsets in ``text``
    wants_list: bool
    asks_detail: bool

    @property
    def empty(self) -> bool:
        return not self.words


NOTHING = Question("", (), wants_list=False, asks_detail=False)


def read_question(raw: str, segmenter: Segmenter) -> Question:
    """The content words of a question; an empty question for a blank, overlong or non-text one."""
    if not isinstance(raw, str) or len(raw) > MAX_QUERY_CHARS:
        return NOTHING
    text = PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", raw).lower().replace("_", " ")).strip()
    if not text:
        return NOTHING
    wants_list = any(p in text for p in LIST_PHRASES)
    asks_detail = any(p in text for p in DETAIL_PHRASES)
    for phrase in QUESTION_PHRASES:
        text = text.replace(phrase, " " * len(phrase))
    words: list[Word] = []
    for word, start, end in segmenter.spans(text):
        if word == PARTICLE_DONE:
            wants_list = True
        elif word not in STOP_WORDS:
            words.append(Word(word, start, end))
    return Question(text, tuple(words), wants_list=wants_list, asks_detail=asks_detail)
