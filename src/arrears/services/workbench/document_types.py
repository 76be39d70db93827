"""What an uploaded document really is, from its first bytes: a case accepts PDF,
PNG, JPEG, TIFF and GIF files, and plain UTF-8 text, and nothing a browser would run
(HTML, SVG, script) whatever its name or declared type.

``document_type`` returns the type to store and serve, or raises ``Invalid`` naming
the mismatch: the content must be one of the accepted kinds, and the declared type
(``application/octet-stream`` declares nothing) and the file name's extension must
agree with it (a known extension names its type; one a browser would open as a page
or run is refused; others say nothing).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from arrears.services.workbench.errors import Invalid

# the signatures of the accepted binary formats (the first bytes of the file)
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
TEXT = "text/plain"
UNDECLARED = "application/octet-stream"
EXTENSIONS = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".gif": "image/gif",
    ".txt": TEXT,
}
# names a browser or desktop would open as a page or run, whatever the content
ACTIVE_EXTENSIONS = frozenset(
    {".htm", ".html", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".js", ".mjs",
     ".hta", ".swf", ".php", ".exe", ".bat", ".cmd", ".ps1", ".vbs", ".jar"}
)  # fmt: skip
ACCEPTED = tuple(sorted({kind for _, kind in MAGIC} | {TEXT}))
# what a browser sniffs as markup or script (WHATWG MIME sniffing), at the start of a
# "text" file after white space
_MARKUP = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?xml",
    b"<!--",
    b"<a ",
    b"<div",
    b"<img",
    b"<style",
    b"<table",
    b"<title",
    b"<p",
    b"<br",
    b"<b",
    b"<h1",
    b"<font",
)


def sniffed_type(content: bytes) -> str | None:
    """The accepted type ``content`` is, by its first bytes, or None."""
    for magic, kind in MAGIC:
        if content.startswith(magic):
            return kind
    if _is_plain_text(content):
        return TEXT
    return None


def _is_plain_text(content: bytes) -> bool:
    """UTF-8 without control characters (tabs and line ends aside) that does not start
    like markup."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text) or "\x7f" in text:
        return False
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n\f")[:16].lower()
    return not head.startswith(_MARKUP)


def document_type(file_name: str, declared: str, content: bytes) -> str:
    """The type to store for ``content`` uploaded as ``file_name`` with type
    ``declared``; ``Invalid`` when the content is not an accepted kind or the name or
    declared type says otherwise."""
    kind = sniffed_type(content)
    if kind is None:
        raise Invalid(
            "file: the content is not a PDF, PNG, JPEG, TIFF, GIF or plain text file", "file_type"
        )
    declared = declared.split(";", 1)[0].strip().lower()
    if declared == "image/jpg":
        declared = "image/jpeg"
    if declared and declared != UNDECLARED and declared != kind:
        raise Invalid(
            f"content_type: declared {declared}, but the content is {kind}",
            "file_type_mismatch",
            declared=declared,
            actual=kind,
        )
    extension = PurePosixPath(file_name).suffix.lower()
    if extension in ACTIVE_EXTENSIONS or (
        extension in EXTENSIONS and EXTENSIONS[extension] != kind
    ):
        raise Invalid(
            f"file_name: a {extension} file name, but the content is {kind}",
            "file_name_mismatch",
            extension=extension,
            actual=kind,
        )
    return kind
