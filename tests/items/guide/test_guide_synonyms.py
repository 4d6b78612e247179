"""The synonym table: the standard groups, packs' additions, and their effect on search."""

from __future__ import annotations

from guide_catalogue import first

from wanshi.items.guide import GuideIndex, Synonyms


def test_the_standard_table_is_large_and_says_what_citizens_say() -> None:
    table = Synonyms.standard()
    assert len(table.groups) >= 150
    assert {"执照", "营业证"} <= table.related("营业执照")
    assert "落户" in table.related("上户口")
    assert "驾驶证" in table.related("驾照")


def test_groups_relate_their_members_only() -> None:
    table = Synonyms.parse("# 注释\n法人/法定代表人\n\n公司/企业/法人\n")
    assert table.related("法定代表人") == {"法人"}
    assert table.related("法人") == {"法定代表人", "公司", "企业"}
    assert table.related("没有") == frozenset()


def test_packs_add_groups_and_words_are_normalised() -> None:
    table = Synonyms.parse("驾照/驾驶证").with_groups([["ＫＴＶ", "歌厅"], ["孤词"]])
    assert table.related("ktv") == {"歌厅"}
    assert table.related("孤词") == frozenset()
    assert table.related("驾照") == {"驾驶证"}


def test_synonyms_find_what_the_words_do_not(guide: GuideIndex) -> None:
    assert first(guide, "上户口") == "303A0000000004"
    assert first(guide, "生娃") == "LIFE-001"
    assert first(guide, "营业证") == "301A0000000001"


def test_the_synonym_is_shown_as_why(guide: GuideIndex) -> None:
    hit = guide.search("营业证")[0]
    assert "营业执照" in hit.why


def test_a_word_typed_counts_more_than_its_synonym(guide: GuideIndex) -> None:
    typed = guide.search("营业执照")[0]
    synonym = guide.search("营业证")[0]
    assert typed.key == synonym.key
    assert typed.score > synonym.score
