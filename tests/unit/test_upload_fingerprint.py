"""The content fingerprint is the SHA-256 of the object's bytes, taken from the reads
the ingest makes anyway, and only from a read that reached the end of the object."""

from __future__ import annotations

import hashlib
import io

from shared.uploads.duplicates import Fingerprint


class Opens:
    def __init__(self, data: bytes) -> None:
        self.data, self.count = data, 0

    def __call__(self) -> io.BytesIO:
        self.count += 1
        return io.BytesIO(self.data)


def test_a_full_read_gives_the_sha256_without_another_read():
    data = b"date,amount\n" + b"2024-01-01,1.5\n" * 200_000
    opens = Opens(data)
    fp = Fingerprint(opens, len(data))
    with fp() as head:
        head.read(1024)  # a sniff of the head alone does not count
    assert fp.digest is None
    with fp() as whole:
        while whole.read(65536):
            pass
    assert fp.digest == hashlib.sha256(data).hexdigest()
    assert fp.result() == fp.digest and opens.count == 2


def test_without_a_full_read_the_result_reads_once_more():
    data = b"a,b\n1,2\n"
    opens = Opens(data)
    fp = Fingerprint(opens, len(data))
    assert fp.result() == hashlib.sha256(data).hexdigest() and opens.count == 1


def test_readinto_is_hashed_like_read():
    data = bytes(range(256)) * 100
    fp = Fingerprint(Opens(data), len(data))
    with fp() as stream:
        buf = bytearray(1000)
        while stream.readinto(buf):
            pass
    assert fp.digest == hashlib.sha256(data).hexdigest()


def test_two_identical_appends_at_once_let_one_in(deps):
    """The first check takes the fingerprint while its upload is still processing; the
    second sees it held and is refused, naming the first; once the first has failed,
    the content is free again."""
    from shared.uploads.duplicates import earlier_copy
    from shared.uploads.records import uploads_path

    tenant, digest = "t_dup", "ab" * 32
    for upload_id in ("up_a", "up_b"):
        deps.docs.set(uploads_path(tenant), upload_id,
                      {"status": "processing", "filename": f"{upload_id}.csv"})
    assert earlier_copy(deps, tenant, "ds_x", digest, "up_a") is None
    assert earlier_copy(deps, tenant, "ds_x", digest, "up_a") is None  # a redelivery
    held = earlier_copy(deps, tenant, "ds_x", digest, "up_b")
    assert held == {"upload_id": "up_a", "filename": "up_a.csv", "loaded_at": None}
    assert earlier_copy(deps, tenant, "ds_other", digest, "up_b") is None
    deps.docs.update(uploads_path(tenant), "up_a", {"status": "failed"})
    assert earlier_copy(deps, tenant, "ds_x", digest, "up_b") is None
