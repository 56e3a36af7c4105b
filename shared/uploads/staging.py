"""Staged Parquet in the staging bucket: shards written, listed and deleted.

The ingest task writes each staged Parquet file to the staging bucket as shards of
whole row groups (about `staging_shard_bytes` each), under a prefix fixed by the
upload and the object generation, so a repeated run writes the very same names and
the warehouse loads them server-side from their URIs (BigQuery reads Cloud Storage
itself: no byte of the data passes through the function on its way to the table).
The staging bucket is not the uploads bucket: every object finalized there is an
ingest. Shards go after the commit; the bucket's lifecycle rule deletes what a crash
left behind (terraform/storage.tf).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from shared.ports import Ports

if TYPE_CHECKING:
    from shared.uploads.claims import IngestRun

log = logging.getLogger("tidemark.ingest")
PREFIX = "staging/"
PARQUET = "application/vnd.apache.parquet"


def prefix(run: IngestRun) -> str:
    """Every shard of one (upload, generation) lives under this prefix."""
    return f"{PREFIX}{run.upload_id}/{run.generation}/"


def part_prefix(run: IngestRun, part: int | None) -> str:
    """A range's shards (part = the range's index), or the whole file's (None)."""
    return prefix(run) + ("all/" if part is None else f"r{part:05d}/")


def uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def _compressed(rg: pq.RowGroupMetaData) -> int:
    return sum(rg.column(c).total_compressed_size for c in range(rg.num_columns))


def _groups(meta: pq.FileMetaData, shard_bytes: int) -> Iterator[list[int]]:
    """Consecutive row groups whose compressed sizes add up to at most shard_bytes
    (a larger row group is a shard of its own)."""
    group: list[int] = []
    size = 0
    for i in range(meta.num_row_groups):
        rg_size = _compressed(meta.row_group(i))
        if group and size + rg_size > shard_bytes:
            yield group
            group, size = [], 0
        group.append(i)
        size += rg_size
    if group:
        yield group


def write_shards(deps: Ports, run: IngestRun, parquet_path: Path,
                 part: int | None = None) -> list[str]:
    """Write the staged file to the staging bucket as shards; returns their URIs in row
    order. A file within one shard's size goes up as it is (nothing re-encoded)."""
    bucket = deps.settings.staging_bucket
    base = part_prefix(run, part)
    names: list[str] = []
    pf = pq.ParquetFile(parquet_path)
    groups = list(_groups(pf.metadata, deps.settings.staging_shard_bytes))
    if len(groups) <= 1:
        name = f"{base}shard-00000.parquet"
        with open(parquet_path, "rb") as fh:
            deps.blobs.put(bucket, name, fh, content_type=PARQUET)
        return [uri(bucket, name)]
    with tempfile.TemporaryDirectory(dir=parquet_path.parent) as tmp:
        for index, group in enumerate(groups):
            shard = Path(tmp) / f"shard-{index:05d}.parquet"
            with pq.ParquetWriter(shard, pf.schema_arrow, compression="snappy") as writer:
                for i in group:  # one row group in memory at a time
                    writer.write_table(pf.read_row_group(i))
            name = f"{base}shard-{index:05d}.parquet"
            with open(shard, "rb") as fh:
                deps.blobs.put(bucket, name, fh, content_type=PARQUET)
            shard.unlink()
            names.append(name)
    return [uri(bucket, n) for n in names]


def listed(deps: Ports, run: IngestRun) -> list[str]:
    """The URIs of every shard under the run's prefix, in name (= row) order."""
    bucket = deps.settings.staging_bucket
    return sorted(uri(bucket, b.name) for b in deps.blobs.list(bucket, prefix(run)))


def discard(deps: Ports, run: IngestRun) -> int:
    """Delete the run's shards (after its commit, or when it failed for good). A failure
    here loses nothing: the lifecycle rule deletes them later."""
    bucket = deps.settings.staging_bucket
    gone = 0
    try:
        names = [info.name for info in deps.blobs.list(bucket, prefix(run))]
    except Exception:  # the bucket's lifecycle rule is the backstop
        log.warning("staged shards of %s not listed", run.upload_id, exc_info=True)
        return 0
    for name in names:
        try:
            gone += bool(deps.blobs.delete(bucket, name))
        except Exception:
            log.warning("staged shard %s not deleted", name, exc_info=True)
    return gone
