"""Files people upload as evidence: checked on the way in, kept where no URL reaches them, and
handed back only by a view that has checked who asks.

A file is accepted when its extension is on the allow-list *and* its first bytes are what that
extension promises, so ``minutes.png`` that is really HTML is refused. Stored files get a random
name under ``PRIVATE_MEDIA_ROOT`` (never under MEDIA_ROOT or the static roots, checked at start-up
in settings); the sanitised original name is kept by the model for the download."""

import os
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import FileResponse


@dataclass(frozen=True)
class FileKind:
    label: str
    content_type: str


PDF = FileKind("PDF", "application/pdf")
PNG = FileKind("PNG image", "image/png")
JPEG = FileKind("JPEG image", "image/jpeg")
DOCX = FileKind(
    "Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
XLSX = FileKind(
    "Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)
ODT = FileKind("OpenDocument text", "application/vnd.oasis.opendocument.text")
# Text is served as text/plain whatever it claims to be: a browser never renders it as a page.
TXT = FileKind("plain text", "text/plain; charset=utf-8")
CSV = FileKind("CSV", "text/plain; charset=utf-8")

KINDS = {
    ".pdf": PDF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".odt": ODT,
    ".txt": TXT,
    ".csv": CSV,
}
ALLOWED_TYPES = "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), OpenDocument text (.odt), plain text (.txt) or CSV (.csv)"

# Enough to tell a text file from markup or a binary without reading all of it.
TEXT_HEAD_BYTES = 64 * 1024
MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe",
          b"<object", b"<embed", b"<meta", b"<a ", b"<img", b"<div", b"<form", b"<style")  # fmt: skip
# A zip member name that marks each office format (ODF's must be the stored mimetype instead).
ZIP_MARKERS = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml"}


def max_upload_bytes() -> int:
    return settings.EVIDENCE_MAX_MB * 1024 * 1024


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler for files too big to hold in memory, except that it stops keeping a
    file's bytes once it passes the upload limit: an oversized upload costs reading the request,
    never its size in temporary disk. The file it hands on carries the full size received, so
    ``upload_check`` refuses it naming the real size and the limit."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            return None
        return super().receive_data_chunk(raw_data, start)


def upload_check(file) -> str:
    """The allow-listed extension of ``file`` (lower case, with its dot), or a ValidationError
    that names the limit or the allowed types. Leaves the file at its start."""
    name = download_name(file.name)
    extension = os.path.splitext(name)[1].lower()
    kind = KINDS.get(extension)
    if kind is None:
        raise ValidationError(
            f"“{name}” is not an allowed type. Attach a {ALLOWED_TYPES} file.", code="type"
        )
    if file.size > max_upload_bytes():
        raise ValidationError(
            f"“{name}” is {file.size / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.EVIDENCE_MAX_MB} MB. Attach a smaller file (compress or split it).",
            code="size",
        )
    file.seek(0)
    try:
        matches = _content_matches(file, kind)
    finally:
        file.seek(0)
    if not matches:
        fix = (
            "Save it as UTF-8 text without markup"
            if kind in (TXT, CSV)
            else f"Attach the real {kind.label} or export it again"
        )
        raise ValidationError(
            f"“{name}” does not contain what its name says ({kind.label}). {fix}; "
            f"allowed types are {ALLOWED_TYPES}.",
            code="content",
        )
    return extension


def _content_matches(file, kind: FileKind) -> bool:
    head = file.read(TEXT_HEAD_BYTES)
    if kind is PDF:
        return head.startswith(b"%PDF-")
    if kind is PNG:
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind is JPEG:
        return head.startswith(b"\xff\xd8\xff")
    if kind in (DOCX, XLSX, ODT):
        return head.startswith(b"PK\x03\x04") and _office_matches(file, kind)
    return _is_plain_text(head, complete=len(head) < TEXT_HEAD_BYTES)


def _office_matches(file, kind: FileKind) -> bool:
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            if kind is ODT:
                # ODF requires the first member to be "mimetype", stored, holding the type.
                first = archive.infolist()[0]
                return (
                    first.filename == "mimetype"
                    and first.file_size < 100
                    and (archive.read(first).strip() == ODT.content_type.encode())
                )
            return ZIP_MARKERS[kind] in archive.namelist()
    except (zipfile.BadZipFile, IndexError, KeyError, EOFError, OSError):
        return False


def _is_plain_text(head: bytes, *, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the end of the head is not an error in the file.
        if complete or error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8-sig")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return False
    lowered = text.lower().encode()
    return not any(tag in lowered for tag in MARKUP)


def download_name(name: str) -> str:
    """The uploader's file name, safe to keep and to send back: no folders, no control or quote
    characters, at most 120 characters with the extension kept."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if unicodedata.category(c)[0] in "CZ" and c != " " or c in '"<>:|?*;' else c
        for c in name
    ).strip(" .")
    stem, extension = os.path.splitext(name)
    if len(extension) > 10:
        stem, extension = name, ""
    return (stem[: 120 - len(extension)] + extension) or "evidence"


def private_upload_name(*, folder: str, extension: str) -> str:
    """A random stored name: nothing of the uploader's choosing reaches the file system."""
    return f"{folder}/{uuid.uuid4().hex}{extension}"


class PrivateStorage(FileSystemStorage):
    """Files under ``settings.PRIVATE_MEDIA_ROOT`` that have no URL: ``url()`` raises, so a
    template can only link to the view that serves them."""

    def __init__(self, **kwargs):
        super().__init__(location=None, base_url=None, **kwargs)

    # Read on every use, so a test's settings override moves the files.
    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage() -> PrivateStorage:
    """The storage of every private upload (a callable, so migrations name it, not a path)."""
    return _PRIVATE_STORAGE


_PRIVATE_STORAGE = PrivateStorage()


def private_file_response(*, file, filename: str) -> FileResponse:
    """A stored private file as a download: always an attachment, with the allow-listed type for
    its extension (never one guessed from the content) and ``nosniff``, so no browser renders it
    as a page of ours."""
    kind = KINDS.get(os.path.splitext(file.name)[1].lower())
    content_type = kind.content_type if kind else "application/octet-stream"
    response = FileResponse(
        file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
