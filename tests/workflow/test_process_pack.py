"""The Anhui pack's forms and processes: loaded through the centres' services, valid, idempotent, and the
demo's applications under way for the clerks and supervisors the pack defines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wanshi.bootstrap import Platform
from wanshi.forms import api as forms
from wanshi.identity.api import load_actor
from wanshi.kernel.actor import ANONYMOUS, SYSTEM
from wanshi.kernel.errors import ValidationFailed
from wanshi.org import api as org
from wanshi.packs.demo_processes import start_demo_instances
from wanshi.packs.kinds import KIND_LOADERS
from wanshi.packs.loader import KindResult, load_pack
from wanshi.workflow.domain.clocks import Level
from wanshi.workflow.services import instances, supervision

PACK = Path(__file__).resolve().parents[2] / "packs" / "anhui"
KINDS = ("organisations", "staff_users", "forms", "processes")


def _load(platform: Platform, directory: Path) -> dict[str, KindResult]:
    loaders = {k: KIND_LOADERS[k] for k in KINDS}
    return {r.kind: r for r in load_pack(platform, directory, SYSTEM, loaders)}


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    manifest = yaml.safe_load((PACK / "pack.yaml").read_text(encoding="utf-8"))
    files = [f for f in manifest["files"] if f["kind"] in KINDS]
    for f in files:
        (tmp_path / f["file"]).write_text((PACK / f["file"]).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "processes").mkdir()
    for path in (PACK / "processes").iterdir():
        (tmp_path / "processes" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pack.yaml").write_text(yaml.safe_dump({"name": "anhui", "files": files}), encoding="utf-8")
    return tmp_path


def test_forms_and_processes_load_publish_and_load_again_unchanged(platform: Platform, pack: Path) -> None:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    first = _load(platform, pack)
    assert (first["forms"].created, first["processes"].created) == (6, 2)
    with platform.reader() as uow:
        marriage = forms.published_form(uow, "marriage-appointment", ANONYMOUS)
        shared, _ = forms.list_forms(
            uow, forms.ListForms(kinds=(forms.FormKind.FRAGMENT,), with_shared=True), SYSTEM
        )
    assert marriage.document.style.theme.value == "official"
    assert [f.key for f in shared] == ["applicant-person"]
    again = _load(platform, pack)
    assert (again["forms"].unchanged, again["processes"].unchanged) == (6, 2)
    # A changed form is published as a new version.
    text = (
        (pack / "forms.yaml")
        .read_text(encoding="utf-8")
        .replace("婚姻登记预约申请表", "婚姻登记预约申请表（2026版）")
    )
    (pack / "forms.yaml").write_text(text, encoding="utf-8")
    assert _load(platform, pack)["forms"].updated == 1
    with platform.reader() as uow:
        assert forms.published_form(uow, "marriage-appointment", ANONYMOUS).version.number == 2

    demo = start_demo_instances(platform, SYSTEM)
    assert demo.started == 8
    assert start_demo_instances(platform, SYSTEM).existing == 8
    with platform.reader() as uow:
        clerk = next(
            a for a in (load_actor(uow, i) for i in range(1, 40)) if a and a.username == "hefei.clerk"
        )
        supervisor = next(
            a for a in (load_actor(uow, i) for i in range(1, 40)) if a and a.username == "wuhu.supervisor"
        )
        waiting, total = instances.list_tasks(uow, instances.TaskQuery(view="claimable"), clerk)
        report = supervision.supervise(uow, supervisor)
    assert total == 4
    assert {t.element_id for t, _ in waiting} == {"receive", "accept", "review", "supplement"}
    assert report.levels[Level.PAUSED] == 1
    assert report.levels[Level.NORMAL] == 3


def test_a_pack_entry_naming_a_missing_file_is_refused(platform: Platform, pack: Path) -> None:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    entry = "{key: broken, name: 坏流程, organisation: 安徽省民政厅, division_code: '340000', bpmn: ../../x}"
    (pack / "processes.yaml").write_text(f"processes:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        _load(platform, pack)
    assert "包内文件不存在" in refused.value.message
