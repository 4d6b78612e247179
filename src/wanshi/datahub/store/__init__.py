"""The analytical store: bulk data of the data centre, behind one interface (DC-2, issue #3 item 4).

The embedded engine is DuckDB over Parquet files. Catalogue metadata and load bookkeeping live in the main
database; the store holds only rows. Another engine (Spark, a distributed SQL engine) takes over by
implementing ``DatasetStore``.
"""

from wanshi.datahub.store.base import DatasetStore, StoreError
from wanshi.datahub.store.parquet import ParquetDuckDBStore

__all__ = ["DatasetStore", "ParquetDuckDBStore", "StoreError"]
