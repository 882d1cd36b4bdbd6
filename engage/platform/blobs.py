"""Object storage for uploaded files: a directory under ENGAGE_DATA_DIR, or an S3-compatible bucket.

Both backends take opaque keys made of `[A-Za-z0-9._/-]` and whole byte strings (uploads are bounded by
ENGAGE_ATTACHMENT_MAX_BYTES). Blocking I/O runs in a worker thread.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread

from engage.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # boto3-stubs[s3], a dev dependency: typing only

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class BlobNotFound(LookupError):
    pass


class BlobStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    if len(key) > 200 or not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


class DiskBlobStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # readers never see half a file

        await anyio.to_thread.run_sync(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))


class S3BlobStorage:
    """Any S3-compatible store (AWS, MinIO, moto). The bucket is created on first use when missing."""

    def __init__(
        self, *, endpoint_url: str, bucket: str, access_key: str, secret_key: str, region: str
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, signature_version="s3v4"),
        )

    def _error_code(self, exc: Exception) -> str:
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import ClientError

        check_key(key)

        def put() -> None:
            try:
                self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
            except ClientError as exc:
                if self._error_code(exc) != "NoSuchBucket":
                    raise
                self._client.create_bucket(Bucket=self.bucket)
                self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

        await anyio.to_thread.run_sync(put)

    async def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        check_key(key)

        def get() -> bytes:
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if self._error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
                    raise BlobNotFound(key) from None
                raise

        return await anyio.to_thread.run_sync(get)

    async def delete(self, key: str) -> None:
        check_key(key)
        await anyio.to_thread.run_sync(lambda: self._client.delete_object(Bucket=self.bucket, Key=key))


def make_blob_storage(settings: Settings) -> BlobStorage:
    if settings.s3_bucket:
        return S3BlobStorage(
            endpoint_url=settings.s3_endpoint_url,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key.get_secret_value() if settings.s3_access_key else "",
            secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else "",
            region=settings.s3_region,
        )
    return DiskBlobStorage(settings.data_dir / "blobs")
