"""Files in an S3 bucket (`s3://bucket[/prefix]`): AWS S3 or any S3-compatible server (MinIO)
at `PLINTH_S3_ENDPOINT_URL`; region and credentials come from boto3's own chain (AWS_REGION or
AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role).

boto3 directly rather than piccolo_api's S3MediaStorage: that one is bound to a table column and
its own key naming, and stores a whole file object with `upload_fileobj`, with no way to feed it
an async stream part by part. Here an upload is streamed: up to PART bytes are buffered, a
smaller object goes in one `put_object`, a larger one as a multipart upload that is aborted on
any failure, so memory stays at one part whatever the file's size and a failed upload leaves no
object and no pending parts. boto3 blocks, so every call runs in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from runtime.storage.base import CHUNK, NotStored, StorageError, check_key
from runtime.storage.names import content_disposition

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART = 8 * 1024 * 1024  # bytes per multipart part (S3 wants at least 5 MiB but the last)
_T = TypeVar("_T")
_MISSING = {"NoSuchKey", "404", "NotFound"}
_DENIED = {
    "AccessDenied",
    "403",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        presign: bool = True,
        part_size: int = PART,
        attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.presign = presign  # False: no presigned URLs, the API streams (S3 not public)
        self.part_size = part_size
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": attempts, "mode": "standard"},
            signature_version="s3v4",  # presigned URLs too: SigV2 is refused by newer regions
            # An endpoint of our own (MinIO) is reached by path: bucket names need no DNS.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self._client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _call(self, key: str, call: Callable[..., _T], /, **kwargs: Any) -> _T:
        """`call(**kwargs)` in a thread, its failures as StorageError (NotStored: no `key`)."""
        try:
            return await asyncio.to_thread(call, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise self._error(error, key) from error

    def _error(self, error: Exception, key: str) -> StorageError:
        """A message an operator can act on: which bucket, which endpoint, what went wrong."""
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            message = error.response.get("Error", {}).get("Message") or code
            if code == "NoSuchBucket":
                return StorageError(f"S3 bucket {self.bucket!r} does not exist ({self.where})")
            if code in _MISSING:
                return NotStored(key)
            if code in _DENIED:
                return StorageError(
                    f"S3 access denied to {self.where} ({code}: {message}); check "
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket's policy"
                )
            return StorageError(f"S3 refused the request on {self.where}: {code}: {message}")
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"no usable AWS credentials for {self.where}: set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY ({error})"
            )
        if isinstance(error, ConnectionError):
            return StorageError(f"S3 unreachable ({self.where}): {error}")
        return StorageError(f"S3 failed on {self.where}: {error}")

    async def check(self) -> None:
        """The bucket exists and these credentials reach it; else StorageError. (Optional:
        a start-up or health check, since a missing object and a missing bucket both look like
        404 to `exists`.)"""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket"):
                raise StorageError(
                    f"S3 bucket {self.bucket!r} does not exist ({self.where})"
                ) from error
            raise self._error(error, "") from error
        except BotoCoreError as error:
            raise self._error(error, "") from error

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        name = self._name(key)
        # One buffer for every part, each exactly part_size but the last, overwritten in place:
        # memory stays at one part, and no part-sized block is freed and allocated again.
        buffer = io.BytesIO()
        written = 0
        upload: _Multipart | None = None
        try:
            async for chunk in chunks:
                written += len(chunk)
                rest = memoryview(chunk)
                while len(rest) >= (room := self.part_size - buffer.tell()):
                    buffer.write(rest[:room])
                    rest = rest[room:]
                    upload = upload or await _Multipart.start(self, key, name, content_type)
                    await upload.send(buffer)
                buffer.write(rest)
            buffer.truncate(buffer.tell())
            if upload is None:
                buffer.seek(0)
                await self._call(
                    key,
                    self._client.put_object,
                    Bucket=self.bucket,
                    Key=name,
                    Body=buffer,
                    ContentType=content_type,
                )
            else:
                if buffer.tell():
                    await upload.send(buffer)
                await upload.complete()
        except BaseException:
            if upload is not None:
                await upload.abort()
            raise
        return written

    async def open(self, key: str) -> AsyncIterator[bytes]:
        name = self._name(key)
        response = await self._call(key, self._client.get_object, Bucket=self.bucket, Key=name)
        body = response["Body"]
        try:
            while True:
                try:
                    chunk = await asyncio.to_thread(body.read, CHUNK)
                except (BotoCoreError, ClientError, OSError) as error:
                    raise StorageError(
                        f"S3 read of {key!r} broke off ({self.where}): {error}"
                    ) from error
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        name = self._name(key)
        await self._call(key, self._client.delete_object, Bucket=self.bucket, Key=name)

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except NotStored:
            return False
        return True

    async def size(self, key: str) -> int:
        name = self._name(key)
        head = await self._call(key, self._client.head_object, Bucket=self.bucket, Key=name)
        return head["ContentLength"]

    async def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int, inline: bool = False
    ) -> str | None:
        if not self.presign:
            return None
        params = {
            "Bucket": self.bucket,
            "Key": self._name(key),
            "ResponseContentDisposition": content_disposition(filename, inline=inline),
            "ResponseContentType": content_type,
        }
        return await self._call(
            key,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params=params,
            ExpiresIn=expires,
        )


class _Multipart:
    """One multipart upload in progress: parts sent in order, completed or aborted."""

    def __init__(self, storage: S3Storage, key: str, name: str, upload_id: str) -> None:
        self.storage, self.key, self.name, self.upload_id = storage, key, name, upload_id
        self.parts: list[CompletedPartTypeDef] = []

    @classmethod
    async def start(cls, storage: S3Storage, key: str, name: str, content_type: str) -> _Multipart:
        created = await storage._call(
            key,
            storage._client.create_multipart_upload,
            Bucket=storage.bucket,
            Key=name,
            ContentType=content_type,
        )
        return cls(storage, key, name, created["UploadId"])

    async def send(self, data: io.BytesIO) -> None:
        """Send `data` whole as the next part; then it is free to be overwritten."""
        number = len(self.parts) + 1
        data.seek(0)
        sent = await self.storage._call(
            self.key,
            self.storage._client.upload_part,
            Bucket=self.storage.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        self.parts.append({"ETag": sent["ETag"], "PartNumber": number})
        data.seek(0)

    async def complete(self) -> None:
        await self.storage._call(
            self.key,
            self.storage._client.complete_multipart_upload,
            Bucket=self.storage.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    async def abort(self) -> None:
        """Drop the parts sent so far. Runs to its end even when the upload was cancelled
        (the thread is not interrupted); its own failure is not the error the caller sees."""
        with contextlib.suppress(Exception):
            await asyncio.shield(
                asyncio.to_thread(
                    self.storage._client.abort_multipart_upload,
                    Bucket=self.storage.bucket,
                    Key=self.name,
                    UploadId=self.upload_id,
                )
            )
