"""The interface every analytical engine implements."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from wanshi.kernel.errors import ValidationFailed

MAX_DATASET_NAME = 63
DATASET_NAME = re.compile(rf"^[a-z][a-z0-9_]{{0,{MAX_DATASET_NAME - 1}}}$")
BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class StoreError(ValidationFailed):
    code = "datastore_invalid"


def check_dataset(name: str) -> str:
    if not DATASET_NAME.match(name):
        raise StoreError(
            f"数据集名称“{name}”无效：须以小写字母开头，只含小写字母、数字和下划线", field="dataset"
        )
    return name


def check_batch(batch_id: str) -> str:
    if not BATCH_ID.match(batch_id):
        raise StoreError(f"批次号“{batch_id}”无效", field="batch_id")
    return batch_id


class DatasetStore(Protocol):
    """Datasets are sets of batches. Writing a batch is atomic and replaces a batch of the same id, so a
    re-run of an interrupted or repeated load can never double its rows."""

    def write_batch(self, dataset: str, batch_id: str, rows: pa.Table) -> int: ...

    def delete_batch(self, dataset: str, batch_id: str) -> bool: ...

    def batches(self, dataset: str) -> list[str]: ...

    def count(self, dataset: str) -> int: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """Run SQL in which every dataset is visible as a view named after it."""
        ...

    def datasets(self) -> list[str]: ...
