"""Uploaded files (engagement documents, message attachments): the type read from the bytes, the size limit, a safe
name, and content-addressed storage under ``settings.attachments_dir``. One place, so both kinds of upload pass the
same checks."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.i18n import msg

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ALLOWED_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", DOCX, "application/zip", "text/plain"})
_SAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
# Bidirectional controls, dropped: "invoice\u202eFDP.exe" would read as "invoiceexe.PDF" in a listing.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def sniff(data: bytes) -> str | None:
    """The content type read from the bytes themselves (magic numbers), or None when unknown."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return None
        return DOCX if "word/document.xml" in names else "application/zip"
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


def store(folder: Path, digest: str, data: bytes) -> Path:
    """Content-addressed, written atomically (temp file, fsync, rename): a crash leaves no half file."""
    path = folder / digest[:2] / digest
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Stored:
    filename: str
    content_type: str
    size: int
    sha256: str


def safe_name(filename: str | None) -> str:
    return _SAFE_NAME.sub("_", _BIDI.sub("", os.path.basename(filename or "")).strip())[:255] or "attachment"


def accept_upload(filename: str | None, declared_type: str | None, stream: BinaryIO, *, folder: Path,
                  max_bytes: int) -> Stored:
    """Read at most ``max_bytes`` (413 past it), refuse an empty file and any type but ``ALLOWED_TYPES`` read from
    the bytes (415; also when the declared type disagrees), then store the bytes under their SHA-256."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(msg("Attachments are limited to {max_bytes} bytes.",
                                  max_bytes=max_bytes), max_bytes=max_bytes)
    if not data:
        raise Invalid("file", msg("The file is empty."))
    kind = sniff(data)
    if kind not in ALLOWED_TYPES:
        raise UnsupportedMediaType(msg("Attach PDF, PNG, JPEG, DOCX, ZIP or plain text."),
                                   allowed=sorted(ALLOWED_TYPES))
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", kind) and not (
            kind == DOCX and declared == "application/zip"):
        raise UnsupportedMediaType(msg("The file is {kind}, not {declared}.",
                                       kind=kind, declared=declared), detected=kind)
    digest = hashlib.sha256(data).hexdigest()
    store(folder, digest, data)
    return Stored(safe_name(filename), kind, len(data), digest)


def path_of(folder: Path, sha256: str, what: str) -> Path:
    path = folder / sha256[:2] / sha256
    if not path.is_file():
        raise NotFound(msg("The file of {what} is missing from storage.", what=what))
    return path


__all__ = ["ALLOWED_TYPES", "DOCX", "Stored", "accept_upload", "path_of", "safe_name", "sniff", "store"]
