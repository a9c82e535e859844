"""The bounded multipart reader (web/uploads.py): a form's fields and file, and a body past
the limit refused while it streams, before the rest of it is read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from jejaring.shared.web.uploads import (
    UploadTooLarge,
    UploadUnreadable,
    discard,
    read_upload,
    size_text,
)

LIMIT = 10_000


def form(file: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart/form-data body as httpx (a real client) encodes it, and its content type."""
    request = httpx.Request(
        "POST", "http://x/", data=fields, files={"file": ("a.pdf", file, "application/pdf")}
    )
    return request.read(), request.headers["content-type"]


class Chunks:
    """The body in chunks of 1 KiB, counting how many were read."""

    def __init__(self, body: bytes) -> None:
        self.parts = [body[i : i + 1024] for i in range(0, len(body), 1024)]
        self.read = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.read += 1
            yield part


async def test_the_fields_and_the_file_are_read() -> None:
    body, kind = form(b"%PDF-" + b"\x00\r\n--" * 100, kind="sktm", csrf="t0ken")
    upload = await read_upload(
        Chunks(body).__aiter__(),
        content_type=kind,
        content_length=str(len(body)),
        file_field="file",
        max_file=LIMIT,
    )
    assert upload.fields == {"kind": "sktm", "csrf": "t0ken"}
    assert upload.file == b"%PDF-" + b"\x00\r\n--" * 100


async def test_a_file_past_the_limit_stops_the_reading_and_keeps_the_fields_before_it() -> None:
    body, kind = form(b"x" * (LIMIT * 20), kind="photo")
    chunks = Chunks(body)
    stream = chunks.__aiter__()
    with pytest.raises(UploadTooLarge) as refused:
        await read_upload(
            stream, content_type=kind, content_length=None, file_field="file", max_file=LIMIT
        )
    assert refused.value.field == "file" and refused.value.fields == {"kind": "photo"}
    assert chunks.read <= LIMIT // 1024 + 2  # not the 200 KB sent
    assert await discard(stream, up_to=len(body))  # the rest can still be drained


async def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    chunks = Chunks(b"")
    with pytest.raises(UploadTooLarge):
        await read_upload(
            chunks.__aiter__(),
            content_type="multipart/form-data; boundary=b",
            content_length=str(10**9),
            file_field="file",
            max_file=LIMIT,
        )
    assert chunks.read == 0


async def test_a_body_that_is_not_multipart_is_unreadable() -> None:
    with pytest.raises(UploadUnreadable):
        await read_upload(
            Chunks(b"{}").__aiter__(),
            content_type="application/json",
            content_length="2",
            file_field="file",
            max_file=LIMIT,
        )


def test_size_text() -> None:
    assert size_text(5 * 1024 * 1024) == "5 MB"
    assert size_text(1536 * 1024) == "1.5 MB"
    assert size_text(64 * 1024) == "64 KB"
