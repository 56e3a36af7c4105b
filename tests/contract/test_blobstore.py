"""BlobStore contract: objects, generations, listing and signed upload URLs, for the file
store and Cloud Storage."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared import errors
from shared.ports import BlobInfo, BlobStore
from tests.contract import backends

BUCKET = backends.BLOB_BUCKET
MB = 1024 * 1024


@pytest.fixture(params=["local", "gcp"])
def blobs(request) -> BlobStore:
    return backends.make("blobstore", request)


@pytest.fixture
def prefix() -> str:
    """Object names no other test uses (the emulator is shared between tests)."""
    return f"contract/{uuid.uuid4().hex[:12]}/"


class _Chunks(io.RawIOBase):
    """A readable stream of `size` pseudo-random bytes that never holds them all."""

    def __init__(self, size: int, seed: int = 7) -> None:
        self.left, self.state = size, seed
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self.left, 256 * 1024)
        block = hashlib.sha256(str(self.state).encode()).digest() * (n // 32 + 1)
        self.state += 1
        buf[:n] = block[:n]
        self.digest.update(block[:n])
        self.left -= n
        return n


def _sha_of_stream(fh, chunk: int = 512 * 1024) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while block := fh.read(chunk):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def test_put_bytes_then_open_and_stat(blobs, prefix):
    name = prefix + "hello.csv"
    info = blobs.put(BUCKET, name, b"a,b\n1,2\n", content_type="text/csv",
                     metadata={"upload_id": "u1"})
    assert isinstance(info, BlobInfo)
    assert (info.bucket, info.name, info.size) == (BUCKET, name, 8)
    assert isinstance(info.generation, str) and info.generation not in ("", "0")
    with blobs.open(BUCKET, name) as fh:
        assert fh.read() == b"a,b\n1,2\n"
    stat = blobs.stat(BUCKET, name)
    assert stat.size == 8
    assert stat.generation == info.generation
    assert stat.content_type == "text/csv"
    assert dict(stat.metadata) == {"upload_id": "u1"}
    assert stat.updated is not None and stat.updated.tzinfo is not None


def test_multi_megabyte_object_streams_in_and_out(blobs, prefix):
    name = prefix + "big.bin"
    source = _Chunks(6 * MB + 123)
    info = blobs.put(BUCKET, name, io.BufferedReader(source),
                     content_type="application/octet-stream")
    assert info.size == 6 * MB + 123
    with blobs.open(BUCKET, name) as fh:
        first = fh.read(1000)
        assert len(first) == 1000  # partial reads work: it is a stream, not one blob
        _, size = _sha_of_stream(fh)
    assert size == 6 * MB + 123 - 1000
    with blobs.open(BUCKET, name) as fh:
        assert _sha_of_stream(fh) == (source.digest.hexdigest(), 6 * MB + 123)


def test_open_and_stat_of_a_missing_object(blobs, prefix):
    with pytest.raises(errors.NotFound):
        blobs.open(BUCKET, prefix + "missing")
    assert blobs.stat(BUCKET, prefix + "missing") is None


def test_if_generation_match_zero_creates_only_once(blobs, prefix):
    name = prefix + "once.txt"
    first = blobs.put(BUCKET, name, b"first", if_generation_match="0")
    with pytest.raises(errors.PreconditionFailed):
        blobs.put(BUCKET, name, b"second", if_generation_match="0")
    with blobs.open(BUCKET, name) as fh:
        assert fh.read() == b"first"
    assert blobs.stat(BUCKET, name).generation == first.generation


def test_if_generation_match_guards_overwrites(blobs, prefix):
    name = prefix + "cas.txt"
    first = blobs.put(BUCKET, name, b"v1")
    second = blobs.put(BUCKET, name, b"v2", if_generation_match=first.generation)
    assert second.generation != first.generation
    with pytest.raises(errors.PreconditionFailed):
        blobs.put(BUCKET, name, b"v3", if_generation_match=first.generation)
    with blobs.open(BUCKET, name, generation=second.generation) as fh:
        assert fh.read() == b"v2"


def test_list_by_prefix_in_name_order(blobs, prefix):
    names = [prefix + n for n in ("b.csv", "a/2.csv", "a/10.csv", "c", "a/1.csv")]
    for n in names:
        blobs.put(BUCKET, n, n.encode())
    listed = list(blobs.list(BUCKET, prefix))
    assert [i.name for i in listed] == sorted(names)
    assert [i.size for i in listed] == [len(n.encode()) for n in sorted(names)]
    assert [i.name for i in blobs.list(BUCKET, prefix + "a/")] == sorted(
        n for n in names if n.startswith(prefix + "a/"))
    assert list(blobs.list(BUCKET, prefix + "zzz")) == []


def test_delete_reports_whether_the_object_existed(blobs, prefix):
    name = prefix + "gone.txt"
    blobs.put(BUCKET, name, b"x")
    assert blobs.delete(BUCKET, name) is True
    assert blobs.stat(BUCKET, name) is None
    assert [i.name for i in blobs.list(BUCKET, prefix)] == []
    with pytest.raises(errors.NotFound):
        blobs.open(BUCKET, name)
    assert blobs.delete(BUCKET, name) is False


def test_signed_upload_url_shape(blobs, prefix):
    before = datetime.now(UTC)
    signed = blobs.signed_upload_url(BUCKET, prefix + "up.csv", content_type="text/csv",
                                     max_bytes=10 * MB, min_bytes=1, expires_in_s=600)
    assert signed.url.startswith(("http://", "https://"))
    assert signed.method == "PUT"
    headers = {k.lower(): v for k, v in signed.headers.items()}
    assert headers["content-type"] == "text/csv"
    assert headers["x-goog-content-length-range"] == f"1,{10 * MB}"
    assert signed.expires_at.tzinfo is not None
    assert before < signed.expires_at <= before + timedelta(seconds=600 + 2)
    assert signed.expires_at >= before + timedelta(seconds=600 - 60)
