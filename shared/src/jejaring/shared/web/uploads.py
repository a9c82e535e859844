"""A `multipart/form-data` upload read with a bound: one file and a few short text fields,
parsed as the body streams in (python-multipart), never more than the limit in memory.

Used by intake (the attachment API) and the web app (the upload form it passes on). What is
allowed in the file is the reader's caller's rule; this module only bounds and parses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

# What a form adds around its file: the boundaries, each part's headers, the short fields.
OVERHEAD = 64 * 1024
TEXT_LIMIT = 4 * 1024  # bytes of one text field (a kind, a CSRF token)
MAX_PARTS = 16


def size_text(size: int) -> str:
    """A size as people read it in a limit: 5 MB, 1.5 MB, 300 KB (1 MB = 1024 KB here)."""
    if size >= 1024 * 1024:
        mb = f"{size / (1024 * 1024):.1f}".removesuffix(".0")
        return f"{mb} MB"
    return f"{max(1, size // 1024)} KB"


class UploadTooLarge(Exception):
    """The file (or the body around it) is larger than allowed; `limit` is the file's."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"{field} over {limit} bytes")
        self.field = field
        self.limit = limit
        self.fields: dict[str, str] = {}  # the text fields read before it (to show them again)


class UploadUnreadable(Exception):
    """Not a multipart/form-data body, or a broken one."""


@dataclass
class Upload:
    """The text fields of the form, and the bytes of its file (None: no file part, or empty)."""

    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()


class _Reader:
    """python-multipart's callbacks, keeping each part within its bound."""

    def __init__(self, file_field: str, max_file: int) -> None:
        self.file_field = file_field
        self.max_file = max_file
        self.upload = Upload()
        self.parts = 0
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._data = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadUnreadable("too many parts")
        self._name = ""
        self._data = bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.strip().lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            self._name = options.get(b"name", b"").decode("utf-8", errors="replace")
        self._header_field = b""
        self._header_value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]
        if self._name == self.file_field:
            if len(self._data) > self.max_file:
                raise UploadTooLarge(self.file_field, self.max_file)
        elif len(self._data) > TEXT_LIMIT:
            raise UploadTooLarge(self._name or "body", self.max_file)

    def _part_end(self) -> None:
        if self._name == self.file_field:
            self.upload.file = bytes(self._data) or None
        elif self._name:
            self.upload.fields.setdefault(self._name, self._data.decode("utf-8", "replace"))
        self._data = bytearray()


async def read_upload(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: str | None,
    file_field: str,
    max_file: int,
) -> Upload:
    """The form posted as `chunks`: UploadTooLarge as soon as the declared length, the bytes
    read or the file part pass the bound (the rest is not read), UploadUnreadable if the body
    is not multipart/form-data."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadUnreadable("not multipart/form-data")
    ceiling = max_file + OVERHEAD
    if content_length is not None and (
        not content_length.isdigit() or int(content_length) > ceiling
    ):
        raise UploadTooLarge(file_field, max_file)
    reader = _Reader(file_field, max_file)
    parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    seen = 0
    try:
        async for chunk in chunks:
            seen += len(chunk)
            if seen > ceiling:
                raise UploadTooLarge(file_field, max_file)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise UploadUnreadable("broken multipart body") from exc
    except UploadTooLarge as exc:
        exc.fields = dict(reader.upload.fields)
        raise
    return reader.upload


async def discard(chunks: AsyncIterator[bytes], *, up_to: int) -> bool:
    """Read and drop the rest of a refused body, up to `up_to` bytes (so that a browser still
    uploading gets the answer instead of a reset connection). False if more was left."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > up_to:
            return False
    return True
