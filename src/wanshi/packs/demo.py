"""Generated data for the demo's data centre (`wanshi demo` only, never `wanshi pack load`).

The pack's ``demo.yaml`` names the population and legal-person resources and how many rows to generate.
For each, the generator's rows (labelled defects on) are written as the CSV file a department would
deliver (Chinese headings) and loaded through ingest into the resource's mounted dataset, so the data
centre has loads with lineage and a quarantine; each resource with rules is then checked once (runs,
scores, tickets to the provider) and the registry indexes are built.

Running it again reuses what exists: a dataset with a completed load is not generated again, a load
already checked is not checked again, and only stale indexes are rebuilt.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.datagen import legal_person, population
from wanshi.datahub.datagen.defects import MAX_DEFECT_RATE
from wanshi.datahub.datagen.writers import write_to_file
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.quality import api as quality
from wanshi.datahub.registry import api as registry
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed
from wanshi.packs.loader import read_pack_file

DEMO_FILE = "demo.yaml"
# Ages and dates are measured to a fixed day, so the same seed gives the same file and so the same load.
AS_OF = date(2025, 12, 31)


class DemoData(BaseModel):
    """``demo.yaml``: which resources get generated rows, how many, and how defective."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    population_resource: str = Field(max_length=40)
    legal_person_resource: str = Field(max_length=40)
    population_rows: int = Field(default=20_000, ge=1, le=1_000_000)
    legal_person_rows: int = Field(default=5_000, ge=1, le=1_000_000)
    seed: int = 2026
    defect_rate: float = Field(default=0.05, ge=0.0, le=MAX_DEFECT_RATE)


def read_demo_data(directory: Path) -> DemoData | None:
    """The pack's demo settings; None for a pack without ``demo.yaml``."""
    path = directory / DEMO_FILE
    if not path.exists():
        return None
    try:
        return DemoData.model_validate(read_pack_file(path) or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(
            f"包文件 {DEMO_FILE}：{place} 无效（{first['msg']}）", code="pack_file_invalid"
        ) from exc


@dataclass(frozen=True)
class DatasetOutcome:
    resource_code: str
    dataset: str
    load: ingest.Load
    generated: bool  # False: an earlier demo's load was reused


@dataclass(frozen=True)
class DemoReport:
    datasets: tuple[DatasetOutcome, ...]
    runs: tuple[quality.Run, ...]  # the checks made now (none when every load was checked before)
    indexes: tuple[registry.IndexStatus, ...]  # the indexes rebuilt now
    seconds: float


def _population(demo: DemoData) -> population.PopulationOptions:
    return population.PopulationOptions(
        rows=demo.population_rows, seed=demo.seed, defect_rate=demo.defect_rate, as_of=AS_OF
    )


def _legal_persons(demo: DemoData) -> legal_person.LegalPersonOptions:
    # Legal representatives are drawn from the generated population (its clean adults), as in life.
    return legal_person.LegalPersonOptions(
        rows=demo.legal_person_rows,
        seed=demo.seed,
        defect_rate=demo.defect_rate,
        as_of=AS_OF,
        persons=_population(demo),
    )


def _newest_complete(platform: Platform, dataset: str, actor: Actor) -> ingest.Load | None:
    with platform.uow() as uow:
        page = ingest.search_loads(uow, actor, dataset=dataset, status=ingest.LoadStatus.COMPLETE, limit=1)
    return page.items[0] if page.items else None


def _fill(
    platform: Platform,
    code: str,
    chunks: Callable[[], Iterator[pa.Table]],
    headers: dict[str, str],
    actor: Actor,
) -> DatasetOutcome:
    with platform.uow() as uow:
        target = catalogue.mounted_resource(uow, code, actor)
    if target.mount.kind is not catalogue.MountKind.DATASET:
        raise ValidationFailed(
            f"演示数据只能载入挂接在分析库数据集上的资源，{code} 不是", code="pack_demo_not_dataset"
        )
    dataset = target.mount.dataset
    existing = _newest_complete(platform, dataset, actor)
    if existing is not None:
        return DatasetOutcome(code, dataset, existing, generated=False)
    with tempfile.TemporaryDirectory(prefix="wanshi-demo-") as folder:
        # Named as a department's export, since lineage shows the file name as the load's source.
        filename = f"{target.name}_演示数据.csv"
        path = Path(folder) / filename
        write_to_file(chunks(), path, "csv", "utf-8", headers)
        with platform.uow() as uow:
            load = ingest.upload_file(uow, platform.datastore, ingest.UploadFile(code, path, filename), actor)
    return DatasetOutcome(code, dataset, load, generated=True)


def _check(platform: Platform, outcome: DatasetOutcome, actor: Actor) -> quality.Run | None:
    """Check the resource once per load, as the worker's sweep would after the load."""
    with platform.uow() as uow:
        resource = catalogue.find_resource(uow, outcome.resource_code, actor).view.resource
        if quality.get_rule_set(uow, resource.id, actor).current is None:
            return None
        newest = quality.list_runs(uow, quality.RunQuery(resource_id=resource.id, limit=1), actor).items
    if newest and newest[0].load_id == outcome.load.id:
        return None
    tickets = quality.TicketOptions(platform.files, platform.settings.quality_ticket_days)
    with platform.uow() as uow:
        return quality.run_quality_check(
            uow,
            platform.datastore,
            quality.RunQualityCheck(resource_code=outcome.resource_code, trigger=quality.Trigger.LOAD),
            actor,
            tickets=tickets,
        )


def load_demo_data(
    platform: Platform,
    demo: DemoData,
    actor: Actor,
    *,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Generate, load, check and index the demo's base-registry data (see the module's docstring)."""
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    persons, companies = _population(demo), _legal_persons(demo)
    persons.check()
    companies.check()
    say("归集 人口基础信息")
    people = _fill(
        platform,
        demo.population_resource,
        lambda: population.generate_population(persons),
        population.CHINESE_HEADERS,
        actor,
    )
    say("归集 法人基础信息")
    firms = _fill(
        platform,
        demo.legal_person_resource,
        lambda: legal_person.generate_legal_persons(companies),
        legal_person.CHINESE_HEADERS,
        actor,
    )
    datasets = (people, firms)
    say("质量检查")
    runs = tuple(run for run in (_check(platform, d, actor) for d in datasets) if run is not None)
    say("基础库索引")
    with platform.uow() as uow:
        indexes = registry.reindex(
            uow, registry.Registry.build(platform.settings, platform.datastore), actor, only_stale=True
        )
    return DemoReport(datasets, runs, indexes, time.perf_counter() - started)
