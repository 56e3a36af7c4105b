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
