"""The linkage engine alone (no database): normalisation, and a run that never touches the network."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pyarrow as pa

from wanshi.datahub.masterdata.transform import linkage_memory_limit, normalise, upgrade_old_ids
from wanshi.kernel.identifiers import generate_resident_id, validate_resident_id


def test_normalise_folds_fullwidth_kangxi_and_whitespace() -> None:
    column = pa.chunked_array([["３４０１０２ｘ", "\u3000李⼤⼒ ", "  ", None]])
    assert normalise(column, upper=True).to_pylist() == ["340102X", "李大力", None, None]
    assert normalise(column, upper=False).to_pylist()[0] == "340102x"


def test_old_15_digit_ids_become_the_18_digit_number_of_the_same_person() -> None:
    new = generate_resident_id("340102", date(1965, 3, 4), 17)
    old = new[:6] + new[8:17]
    column = pa.chunked_array([[old, None, new], ["12345", "34010219650304017"]])
    upgraded = upgrade_old_ids(column).to_pylist()
    assert upgraded == [new, None, new, "12345", "34010219650304017"]
    validate_resident_id(str(upgraded[0]))
    plain = pa.chunked_array([[new]])
    assert upgrade_old_ids(plain) is plain


def test_duckdb_gets_half_of_the_memory_budget() -> None:
    assert linkage_memory_limit("2GB") == "953MiB"
    assert linkage_memory_limit("1.5GiB") == "768MiB"
    assert linkage_memory_limit(" 512 mb ") == "244MiB"
    assert linkage_memory_limit("80%") == "80%"  # not a size this understands: DuckDB's to read


OFFLINE = """
import socket, sys
from pathlib import Path

def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args}")

# Before anything is imported: Splink, DuckDB and the model must neither import nor run with a network call.
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

import pyarrow as pa
from wanshi.datahub.datagen.population import PopulationOptions, generate_population
from wanshi.datahub.masterdata import domain, transform
from wanshi.datahub.store import ParquetDuckDBStore

store = ParquetDuckDBStore(Path(sys.argv[1]))
options = PopulationOptions(rows=2000, seed=1, defect_rate=0.2, chunk_size=2000,
                            defects=("duplicate_exact", "near_duplicate"))
store.write_batch("population", "b1", pa.concat_tables(generate_population(options)))
written = {}
linked = transform.link(store, ["population"], domain.PERSON, domain.Survivorship(), 0.9, 1,
                        lambda kind, table: written.__setitem__(kind, table.num_rows))
figures = domain.evaluate(linked.pairs)
print("RESULT", linked.rows, linked.clusters, written["clusters"], written["golden"], figures.precision,
      figures.recall)
"""


def test_linkage_runs_offline_from_a_fresh_import(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OFFLINE), str(tmp_path / "store")],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows, clusters, cluster_rows, golden_rows, precision, recall = done.stdout.split("RESULT")[-1].split()
    assert int(rows) == 2000
    assert int(cluster_rows) == 2000
    assert int(golden_rows) == int(clusters) < 2000
    assert float(precision) > 0.99  # measured 1.0 (482 pairs)
    assert float(recall) > 0.99
