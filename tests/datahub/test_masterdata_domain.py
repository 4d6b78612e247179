"""Master data domain rules without a database: pairwise figures, survivorship settings, input checks."""

from __future__ import annotations

import pytest

from wanshi.datahub.masterdata import policies
from wanshi.datahub.masterdata.domain import (
    PERSON,
    EntityKind,
    MasterdataError,
    PairCounts,
    check_datasets,
    check_output,
    check_threshold,
    entity_spec,
    evaluate,
    outputs,
    parse_priority,
    run_batch,
    run_of_batch,
)
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant


def test_pairwise_precision_recall_and_f1() -> None:
    figures = evaluate(PairCounts(predicted=10, labelled=8, correct=6))
    assert figures.precision == pytest.approx(0.6)
    assert figures.recall == pytest.approx(0.75)
    assert figures.f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_figures_are_undefined_without_pairs_and_refuse_impossible_counts() -> None:
    nothing_found = evaluate(PairCounts(predicted=0, labelled=5, correct=0))
    assert nothing_found.precision is None
    assert nothing_found.recall == 0.0
    assert nothing_found.f1 is None
    assert evaluate(PairCounts(predicted=3, labelled=0, correct=0)).recall is None
    with pytest.raises(ValueError, match="inconsistent"):
        evaluate(PairCounts(predicted=2, labelled=5, correct=3))


def test_priority_lists_per_field_with_a_default_for_all() -> None:
    rules = parse_priority(["name=gongan,minzheng", "*=minzheng"])
    rules.check(PERSON)
    ranks = rules.ranks(("name", "phone"))
    assert ranks == [("name", "gongan", 0), ("name", "minzheng", 1), ("phone", "minzheng", 0)]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["salary=gongan"], "没有的字段：salary"),
        (["name="], "权威来源列表为空"),
        (["name=a,a"], "权威来源重复"),
    ],
)
def test_bad_priority_is_refused_in_chinese(pairs: list[str], message: str) -> None:
    with pytest.raises(MasterdataError, match=message) as caught:
        parse_priority(pairs).check(PERSON)
    assert caught.value.error_code == "masterdata_invalid"


def test_priority_must_name_a_field() -> None:
    with pytest.raises(MasterdataError, match="字段=来源1,来源2"):
        parse_priority(["gongan"])


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_threshold_strictly_between_zero_and_one(threshold: float) -> None:
    with pytest.raises(MasterdataError, match="匹配阈值"):
        check_threshold(threshold)
    assert check_threshold(0.5) == 0.5


def test_dataset_lists_and_output_prefixes() -> None:
    with pytest.raises(MasterdataError, match="至少指定一个"):
        check_datasets([])
    with pytest.raises(MasterdataError, match="重复"):
        check_datasets(["a", "a"])
    with pytest.raises(MasterdataError, match="最多"):
        check_datasets([f"d{i}" for i in range(11)])
    with pytest.raises(MasterdataError, match="前缀"):
        check_output("Person")
    assert outputs("person").golden == "person_golden"
    assert outputs("person").lineage == "person_golden_lineage"


def test_entities_and_run_batches() -> None:
    assert entity_spec("enterprise").key == "credit_code"
    with pytest.raises(MasterdataError, match="未知的主体类型"):
        entity_spec("household")
    assert EntityKind.PERSON.value == "person"
    assert run_of_batch(run_batch(42)) == 42
    assert run_batch(42, 3) == "run-00000042-part0003"
    assert run_of_batch(run_batch(42, 3)) == 42
    assert run_of_batch("run-00000042-part") is None
    assert run_of_batch("datagen-s0-00000") is None


def _staff(role: Role, division: str) -> Actor:
    return Actor(kind=ActorKind.STAFF, username="u", grants=(RoleGrant(role, 1, division),))


def test_only_the_data_bureau_links_records() -> None:
    assert policies.can_link_records(SYSTEM)
    assert policies.can_link_records(_staff(Role.SYS_ADMIN, "340000"))  # the provincial bureau
    assert policies.can_link_records(_staff(Role.SYS_ADMIN, "340100"))  # a city's bureau
    assert not policies.can_link_records(_staff(Role.SYS_ADMIN, "340102"))  # a county has none
    assert not policies.can_link_records(_staff(Role.CLERK, "340000"))  # a department's clerk
    assert not policies.can_link_records(_staff(Role.SECURITY_ADMIN, "340000"))
    assert policies.can_list_runs(_staff(Role.AUDIT_ADMIN, "340000"))
    assert not policies.can_list_runs(_staff(Role.CLERK, "340100"))
