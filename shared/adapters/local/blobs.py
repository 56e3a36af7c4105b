"""Objects as files under the data directory, with GCS-like generations.

Signed upload URLs are HMAC-SHA256 signed by this store; the local server hands the
PUT to `receive_signed_put`, which checks signature, expiry, content type and size
the way GCS does for a V4 URL, commits the object atomically, and then emits the same
`google.cloud.storage.object.v1.finalized` CloudEvent GCS would.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

from shared import errors
from shared.ports import BlobInfo, BlobStore, SignedUpload

FINALIZED = "google.cloud.storage.object.v1.finalized"
_CHUNK = 1024 * 1024
_Q = "X-Tidemark-"


class FileBlobStore(BlobStore):
    def __init__(self, root: Path, *, base_url: str, signing_key: bytes,
                 on_finalized: Callable[[dict[str, Any]], object] | None = None,
                 routes: Mapping[str, str] | None = None,
                 event_buckets: Collection[str] | None = None) -> None:
        """`routes` maps an object-name prefix to the bucket that holds such objects,
        whatever bucket the caller names (as GcsBlobStore does: quarantined rows live
        outside the uploads bucket). `on_finalized` is called for objects finalized in
        `event_buckets` only (all buckets when None), as a Cloud Storage trigger fires
        for the one bucket it names."""
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._key = signing_key
        self._on_finalized = on_finalized
        self._routes = dict(routes or {})
        self._event_buckets = None if event_buckets is None else frozenset(event_buckets)
        self._lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ paths
    def _bucket(self, bucket: str, name: str) -> str:
        for prefix, routed in self._routes.items():
            if name.startswith(prefix):
                return routed
        return bucket

    def _paths(self, bucket: str, name: str) -> tuple[Path, Path]:
        _check_bucket(bucket)
        _check_name(name)
        base = self.root / bucket
        return base / "objects" / name, base / "meta" / (name + ".json")

    @contextmanager
    def _locked(self):
        lock_path = self.root / ".lock"
        with self._lock, open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_meta(self, meta: Path) -> dict[str, Any] | None:
        try:
            return json.loads(meta.read_text())
        except FileNotFoundError:
            return None

    @staticmethod
    def _info(m: dict[str, Any]) -> BlobInfo:
        return BlobInfo(bucket=m["bucket"], name=m["name"], size=m["size"],
                        generation=m["generation"], content_type=m.get("content_type"),
                        updated=datetime.fromisoformat(m["updated"]),
                        metadata=m.get("metadata") or {})

    # ------------------------------------------------------------------ port
    def put(self, bucket: str, name: str, data: bytes | BinaryIO, *,
            content_type: str | None = None, if_generation_match: str | None = None,
            metadata: Mapping[str, str] | None = None) -> BlobInfo:
        bucket = self._bucket(bucket, name)
        obj, _ = self._paths(bucket, name)
        obj.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=obj.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            return self._commit(bucket, name, Path(tmp), content_type, if_generation_match,
                                metadata)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _commit(self, bucket: str, name: str, tmp: Path, content_type: str | None,
                if_generation_match: str | None, metadata: Mapping[str, str] | None) -> BlobInfo:
        obj, meta = self._paths(bucket, name)
        with self._locked():
            current = self._read_meta(meta)
            if if_generation_match is not None:
                live = current["generation"] if current else "0"
                if live != str(if_generation_match):
                    raise errors.PreconditionFailed(
                        f"object {name!r} generation is {live}, not {if_generation_match}")
            generation = str(max(time.time_ns() // 1000,
                                 int(current["generation"]) + 1 if current else 0))
            now = datetime.now(UTC)
            m = {"bucket": bucket, "name": name, "size": tmp.stat().st_size,
                 "generation": generation, "content_type": content_type,
                 "updated": now.isoformat(), "created": now.isoformat(),
                 "metadata": dict(metadata or {})}
            meta.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, obj)
            mtmp = meta.with_name(meta.name + ".tmp")
            mtmp.write_text(json.dumps(m))
            os.replace(mtmp, meta)
        info = self._info(m)
        if self._on_finalized and (self._event_buckets is None
                                   or bucket in self._event_buckets):
            self._on_finalized(finalize_event(info))
        return info

    def open(self, bucket: str, name: str, *, generation: str | None = None) -> BinaryIO:
        obj, meta = self._paths(self._bucket(bucket, name), name)
        m = self._read_meta(meta)
        if m is None or (generation is not None and m["generation"] != str(generation)):
            raise errors.NotFound(f"object {bucket}/{name} not found")
        try:
            return open(obj, "rb")
        except FileNotFoundError:
            raise errors.NotFound(f"object {bucket}/{name} not found") from None

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        _, meta = self._paths(self._bucket(bucket, name), name)
        m = self._read_meta(meta)
        return self._info(m) if m else None

    def list(self, bucket: str, prefix: str = "") -> Iterator[BlobInfo]:
        bucket = self._bucket(bucket, prefix) if prefix else bucket
        _check_bucket(bucket)
        base = self.root / bucket / "meta"
        if not base.is_dir():
            return
        names = []
        for dirpath, _, files in os.walk(base):
            for f in files:
                if f.endswith(".json"):
                    rel = os.path.relpath(os.path.join(dirpath, f), base)[:-5]
                    if rel.startswith(prefix):
                        names.append(rel)
        for n in sorted(names):
            info = self.stat(bucket, n)
            if info:
                yield info

    def delete(self, bucket: str, name: str) -> bool:
        obj, meta = self._paths(self._bucket(bucket, name), name)
        with self._locked():
            existed = meta.exists()
            for p in (meta, obj):
                p.unlink(missing_ok=True)
        return existed

    # ------------------------------------------------------------ signed URLs
    def _signature(self, bucket: str, name: str, expires: int, content_type: str,
                   length_range: str) -> str:
        msg = "\n".join(["PUT", bucket, name, str(expires), content_type, length_range])
        return hmac.new(self._key, msg.encode(), hashlib.sha256).hexdigest()

    def signed_upload_url(self, bucket: str, name: str, *, content_type: str,
                          max_bytes: int, min_bytes: int = 1,
                          expires_in_s: int = 900) -> SignedUpload:
        bucket = self._bucket(bucket, name)
        self._paths(bucket, name)
        if not 0 < expires_in_s <= 7 * 24 * 3600:
            raise errors.InvalidInput("expiry must be between 1 s and 7 days")
        expires = int(time.time()) + int(expires_in_s)
        length_range = f"{int(min_bytes)},{int(max_bytes)}"
        sig = self._signature(bucket, name, expires, content_type, length_range)
        query = urlencode({f"{_Q}Expires": expires, f"{_Q}Signature": sig})
        url = f"{self.base_url}/storage/upload/{bucket}/{quote(name)}?{query}"
        return SignedUpload(url=url, method="PUT",
                            headers={"Content-Type": content_type,
                                     "x-goog-content-length-range": length_range},
                            expires_at=datetime.fromtimestamp(expires, UTC))

    def receive_signed_put(self, bucket: str, name: str, query: Mapping[str, str],
                           headers: Mapping[str, str], body: BinaryIO,
                           content_length: int | None) -> BlobInfo:
        """Verify a PUT to a signed URL and store its body. Raises Forbidden for a bad or
        expired signature or a header that differs from the signed one, TooLarge or
        InvalidInput for a body outside the signed size range."""
        try:
            expires = int(query.get(f"{_Q}Expires", ""))
        except ValueError:
            raise errors.Forbidden("malformed signed URL", code="signature_invalid") from None
        content_type = headers.get("Content-Type", "")
        length_range = headers.get("x-goog-content-length-range", "")
        expected = self._signature(bucket, name, expires, content_type, length_range)
        if not hmac.compare_digest(expected, str(query.get(f"{_Q}Signature", ""))):
            raise errors.Forbidden(
                "the signature does not match the request (check Content-Type and "
                "x-goog-content-length-range)", code="signature_invalid")
        if time.time() > expires:
            raise errors.Forbidden("the signed URL has expired", code="signature_expired")
        lo, hi = (int(x) for x in length_range.split(","))
        if content_length is not None and content_length > hi:
            raise errors.TooLarge(f"body of {content_length} bytes exceeds {hi}",
                                  details={"max_bytes": hi})
        obj, _ = self._paths(bucket, name)
        obj.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=obj.parent, prefix=".upload-")
        try:
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := body.read(_CHUNK):
                    size += len(chunk)
                    if size > hi:
                        raise errors.TooLarge(f"body exceeds {hi} bytes", details={"max_bytes": hi})
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if content_length is not None and size != content_length:
                raise errors.InvalidInput("body is shorter than its Content-Length",
                                          code="incomplete_body")
            if size < lo:
                raise errors.InvalidInput(f"body of {size} bytes is under the minimum {lo}",
                                          code="too_small")
            return self._commit(bucket, name, Path(tmp), content_type, None, None)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def finalize_event(info: BlobInfo) -> dict[str, Any]:
    """The structured-mode CloudEvent GCS emits for a finalized object."""
    ts = (info.updated or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    return {
        "specversion": "1.0", "id": uuid.uuid4().hex, "type": FINALIZED,
        "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}",
        "subject": f"objects/{info.name}", "time": ts, "datacontenttype": "application/json",
        "data": {"kind": "storage#object", "id": f"{info.bucket}/{info.name}/{info.generation}",
                 "bucket": info.bucket, "name": info.name, "generation": info.generation,
                 "metageneration": "1", "contentType": info.content_type,
                 "size": str(info.size), "timeCreated": ts, "updated": ts},
    }


def _check_bucket(bucket: str) -> None:
    if not bucket or len(bucket) > 63 or not all(c.isalnum() or c in "-_." for c in bucket) \
            or bucket.startswith("."):
        raise errors.InvalidInput(f"invalid bucket name {bucket!r}")


def _check_name(name: str) -> None:
    parts = name.split("/")
    if (not name or len(name.encode()) > 1024 or name.startswith("/") or "\x00" in name
            or "\\" in name or any(p in ("", ".", "..") for p in parts)
            or name.endswith(".json.tmp")):
        raise errors.InvalidInput(f"invalid object name {name!r}", code="invalid_object_name")
