"""Misspellings, near sounds and typed pinyin."""

from __future__ import annotations

from guide_catalogue import first

from wanshi.items.guide import GuideIndex
from wanshi.items.guide.phonetic import SoundIndex, fold, sound_key


def test_anhui_blurs_are_folded() -> None:
    assert fold("zhishi") == fold("zisi")
    assert fold("ying") == fold("yin")
    assert fold("nan") == fold("lan")
    assert sound_key("出身证明") == sound_key("出生证明")


def test_sound_index_finds_homophones_initials_and_near_sounds() -> None:
    sounds = SoundIndex(["营业执照", "结婚登记", "护照", "居民身份证", "a", "营业执照"])
    assert sounds.homophones("营业职照") == ["营业执照"]
    assert sounds.homophones("营业执照") == []
    assert sounds.spelled("yyzz") == ["营业执照"]
    assert sounds.spelled("jhdj") == ["结婚登记"]
    assert sounds.spelled("yingyezhizhao") == ["营业执照"]
    assert sounds.spelled("y") == []
    assert sounds.near("居民身分正") == ["居民身份证"]
    assert sounds.near("机动车驾驶") == []


def test_misspellings_find_the_item(guide: GuideIndex) -> None:
    assert first(guide, "营业职照") == "301A0000000001"
    assert first(guide, "出身医学证明") == "302A0000000003"
    assert first(guide, "准生正") == "302A0000000010"


def test_the_correction_is_shown_as_why(guide: GuideIndex) -> None:
    assert guide.search("营业职照")[0].why == ("营业执照",)


def test_pinyin_initials(guide: GuideIndex) -> None:
    assert first(guide, "yyzz") == "301A0000000001"
    assert first(guide, "jhdj") == "306A0000000007"
    assert first(guide, "hz") == "303A0000000008"


def test_unknown_letters_find_nothing(guide: GuideIndex) -> None:
    assert guide.search("qxzv") == []


def test_two_syllables_must_sound_exactly_alike() -> None:
    sounds = SoundIndex(["低保", "强制"])
    assert sounds.homophones("低包") == ["低保"]
    assert sounds.homophones("钱治") == []  # qianzhi is qiangzhi only once folded
