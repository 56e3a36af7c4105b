"""BlobStore on Cloud Storage (google-cloud-storage, imported on first use).

- Reads stream through `Blob.open("rb")` pinned to the generation that was current
  when the object was opened, so memory stays bounded and a concurrent overwrite can
  never splice two versions into one read.
- Writes that must not overwrite use `if_generation_match` (0 = only if absent); GCS
  answers 412, which becomes errors.PreconditionFailed.
- Signed upload URLs are V4, PUT only, and bind the content type and
  `x-goog-content-length-range`, so GCS itself rejects a body of another type or
  size. Expiry is capped at 15 minutes. On Cloud Functions the runtime credentials
  hold no private key: the URL is then signed through the IAM signBlob API as
  `signing_service_account` (which needs roles/iam.serviceAccountTokenCreator on
  itself).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from shared import errors
from shared.adapters.gcp._errors import translated
from shared.adapters.gcp._lazy import LazyClient
from shared.ports import BlobInfo, BlobStore, SignedUpload

MAX_SIGNED_URL_TTL_S = 900
_READ_CHUNK = 8 * 1024 * 1024  # bytes per ranged GET while streaming
_UPLOAD_CHUNK = 16 * 1024 * 1024  # resumable upload chunk (a multiple of 256 KiB)


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError):
        return False


class _Positioned:
    """A forward-only reader that knows its position: the resumable upload asks for
    tell(), which pipes and sockets cannot answer."""

    def __init__(self, raw: Any) -> None:
        self._raw, self._pos = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False


class GcsBlobStore(BlobStore):
    def __init__(self, project: str | None = None, signing_service_account: str | None = None,
                 *, client: Any = None, signing_credentials: Any = None,
                 routes: Mapping[str, str] | None = None) -> None:
        """`client` (a storage.Client) and `signing_credentials` (google.auth credentials
        able to sign) are injectable for emulators and tests.

        `routes` maps an object-name prefix to the bucket that holds such objects,
        whatever bucket the caller names: quarantined rows (`rejected/`) live outside the
        uploads bucket, because a Cloud Storage trigger fires for every object finalized
        in its bucket, whatever its name
        (https://cloud.google.com/run/docs/triggering/storage-triggers), and each would
        be a billed ingest invocation."""
        self.project = project
        self.signing_service_account = signing_service_account
        self._routes = dict(routes or {})

        def build() -> Any:
            # Imported as a module: google-cloud-storage ships no type information, and
            # mypy cannot see it as an attribute of the `google.cloud` namespace package.
            import google.cloud.storage as storage

            return storage.Client(project=self.project)

        self._client = LazyClient(build, client)
        self._signing_credentials = signing_credentials

    @property
    def client(self) -> Any:
        return self._client.get()

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _info(blob: Any) -> BlobInfo:
        return BlobInfo(bucket=blob.bucket.name, name=blob.name, size=int(blob.size or 0),
                        generation=str(blob.generation), content_type=blob.content_type,
                        updated=blob.updated, metadata=dict(blob.metadata or {}))

    @staticmethod
    def _check(bucket: str, name: str) -> None:
        if not bucket or not name or len(name.encode()) > 1024 or "\n" in name \
                or name in (".", ".."):
            raise errors.InvalidInput(f"invalid object name {name!r}")

    def _bucket(self, bucket: str, name: str) -> str:
        """The bucket that holds `name` (see `routes`)."""
        for prefix, routed in self._routes.items():
            if name.startswith(prefix):
                return routed
        return bucket

    # ------------------------------------------------------------------ BlobStore

    def put(self, bucket: str, name: str, data: bytes | BinaryIO, *,
            content_type: str | None = None, if_generation_match: str | None = None,
            metadata: Mapping[str, str] | None = None) -> BlobInfo:
        self._check(bucket, name)
        bucket = self._bucket(bucket, name)
        blob = self.client.bucket(bucket).blob(name, chunk_size=_UPLOAD_CHUNK)
        if metadata:
            blob.metadata = dict(metadata)
        kw: dict[str, Any] = {"content_type": content_type or "application/octet-stream"}
        if if_generation_match is not None:
            kw["if_generation_match"] = int(if_generation_match)
        with translated(f"write gs://{bucket}/{name}"):
            if isinstance(data, bytes | bytearray | memoryview):
                blob.upload_from_string(bytes(data), **kw)
            else:
                # A file of unknown size goes up as a resumable upload in chunks.
                stream = data if _seekable(data) else _Positioned(data)
                blob.upload_from_file(stream, rewind=False, **kw)
        return self._info(blob)

    def open(self, bucket: str, name: str, *, generation: str | None = None) -> BinaryIO:
        self._check(bucket, name)
        bucket = self._bucket(bucket, name)
        b = self.client.bucket(bucket)
        with translated(f"open gs://{bucket}/{name}"):
            blob = b.blob(name, generation=int(generation) if generation else None)
            blob.reload()  # NotFound now, not at the first read; learns the generation
        pinned = b.blob(name, generation=blob.generation, chunk_size=_READ_CHUNK)
        # raw_download skips transcoding so the bytes read are the bytes stored.
        return pinned.open("rb", chunk_size=_READ_CHUNK, raw_download=True)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        self._check(bucket, name)
        bucket = self._bucket(bucket, name)
        with translated(f"stat gs://{bucket}/{name}"):
            blob = self.client.bucket(bucket).get_blob(name)
        return None if blob is None else self._info(blob)

    def list(self, bucket: str, prefix: str = "") -> Iterator[BlobInfo]:
        # GCS lists in lexicographic (UTF-8 byte) order of names, page by page.
        bucket = self._bucket(bucket, prefix) if prefix else bucket
        with translated(f"list gs://{bucket}/{prefix}"):
            for blob in self.client.list_blobs(bucket, prefix=prefix or None):
                yield self._info(blob)

    def delete(self, bucket: str, name: str) -> bool:
        self._check(bucket, name)
        bucket = self._bucket(bucket, name)
        try:
            with translated(f"delete gs://{bucket}/{name}"):
                self.client.bucket(bucket).blob(name).delete()
        except errors.NotFound:
            return False
        return True

    def signed_upload_url(self, bucket: str, name: str, *, content_type: str,
                          max_bytes: int, min_bytes: int = 1,
                          expires_in_s: int = 900) -> SignedUpload:
        self._check(bucket, name)
        bucket = self._bucket(bucket, name)
        if not content_type or "\n" in content_type:
            raise errors.InvalidInput("content_type is required")
        if min_bytes < 0 or max_bytes < min_bytes:
            raise errors.InvalidInput("need 0 <= min_bytes <= max_bytes")
        ttl = max(1, min(int(expires_in_s), MAX_SIGNED_URL_TTL_S))
        headers = {"Content-Type": content_type,
                   "x-goog-content-length-range": f"{min_bytes},{max_bytes}"}
        blob = self.client.bucket(bucket).blob(name)
        with translated(f"sign upload URL for gs://{bucket}/{name}"):
            url = blob.generate_signed_url(
                version="v4", method="PUT", expiration=timedelta(seconds=ttl),
                content_type=content_type,
                headers={"x-goog-content-length-range": headers["x-goog-content-length-range"]},
                **self._signer())
        return SignedUpload(url=url, method="PUT", headers=headers,
                            expires_at=datetime.now(UTC) + timedelta(seconds=ttl))

    def _signer(self) -> dict[str, Any]:
        """Sign with a private key when the credentials hold one, else through IAM."""
        from google.auth import credentials as gcreds

        from shared.adapters.gcp._emulators import (
            storage_emulated,
            throwaway_signing_credentials,
        )

        if self._signing_credentials is None and storage_emulated():
            return {"credentials": throwaway_signing_credentials()}
        creds = self._signing_credentials or self.client._credentials
        if isinstance(creds, gcreds.Signing) and not self.signing_service_account:
            return {"credentials": creds}
        import google.auth.transport.requests

        if not creds.valid:
            creds.refresh(google.auth.transport.requests.Request())
        email = self.signing_service_account or getattr(creds, "service_account_email", None)
        if not email:
            raise errors.AppError("no service account to sign upload URLs with",
                                  code="signing_unavailable")
        return {"service_account_email": email, "access_token": creds.token}
