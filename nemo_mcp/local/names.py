"""File names: the user's own name for display, a safe unique name for the disk and the `/cdn/` URLs.

The rule: the name a person gave a file (`片段一.mp4`, `vidéo 日本 #1.mp4`) is what they see everywhere it is
shown (the upload answer's `filename`, `video_infos`, the draft's segment names, the timeline page), with
only what would be a lie or a trick removed (directories, control and bidi-override characters, leading
dots). It is never a path component: files land on disk as `<random hex>.<extension>`, and `/cdn/` URLs
name that (percent-encoded all the same). Multipart part headers give the name as `filename="..."` (raw
UTF-8, HTML5 style: `"` as `%22`) or as RFC 5987 `filename*=UTF-8''...`; `filename*` wins when it decodes.

A leaf module: it imports nothing of the package.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import unquote

MAX_NAME_CHARS = 200
_BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def display_name(raw: str) -> str:
    """The name to show: the last path component, without control or bidi-override characters, without
    leading dots or surrounding spaces, NFC-normalised, at most `MAX_NAME_CHARS` characters (the extension
    kept); "upload" when nothing is left."""
    text = "".join(ch for ch in raw if ch not in _BIDI and unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", text))[-1].strip().lstrip(".").strip()
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        keep = ext[:16]
        base = (stem[: MAX_NAME_CHARS - len(keep) - 1] + dot + keep) if dot else base[:MAX_NAME_CHARS]
    return base or "upload"


def extension(name: str) -> str:
    """The lower-case extension of a name ("" when there is none)."""
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def disk_name(ext: str) -> str:
    """A fresh internal name: random hex plus the (already validated, ASCII) extension."""
    suffix = f".{ext}" if ext.isascii() and ext.isalnum() else ""
    return f"{secrets.token_hex(8)}{suffix}"


def create_unique(folder: Path, ext: str) -> Path:
    """A new empty file in `folder` under a fresh internal name (created exclusively, so never shared)."""
    for _ in range(8):
        path = folder / disk_name(ext)
        try:
            path.open("xb").close()
        except FileExistsError:
            continue
        return path
    raise OSError("could not create a unique file name")


# --- Content-Disposition --------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def disposition_params(header: bytes) -> dict[str, str]:
    """The parameters of a Content-Disposition value, names lower-cased; quoted strings unescaped. The
    value itself (`form-data`) is left out."""
    text = _decode(header)
    params: dict[str, str] = {}
    i, n = text.find(";"), len(text)
    if i < 0:
        return params
    while i < n:
        i += 1  # past the ';'
        while i < n and text[i] in " \t":
            i += 1
        eq = text.find("=", i)
        semi = text.find(";", i)
        if eq < 0 or (0 <= semi < eq):
            if semi < 0:
                break
            i = semi
            continue
        name = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            out: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(text[i])
                i += 1
            value = "".join(out)
            i = text.find(";", i)
            i = n if i < 0 else i
        else:
            end = text.find(";", i)
            end = n if end < 0 else end
            value, i = text[i:end].strip(), end
        if name and name not in params:
            params[name] = value
    return params


def _ext_value(value: str) -> str | None:
    """RFC 5987 `charset'language'percent-encoded`; None when it does not decode."""
    charset, sep, rest = value.partition("'")
    _, sep2, encoded = rest.partition("'")
    if not sep or not sep2:
        return None
    charset = charset.strip().lower() or "utf-8"
    if charset not in ("utf-8", "utf8", "iso-8859-1", "latin1", "latin-1", "us-ascii"):
        return None
    try:
        return unquote(encoded, encoding=charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None


def part_filename(params: dict[str, str]) -> str | None:
    """The file name a part carries: `filename*` (RFC 5987) when it decodes, else `filename` with the HTML5
    escapes (`%22`, `%0D`, `%0A`) undone; None when the part names no file."""
    if "filename*" in params and (decoded := _ext_value(params["filename*"])) is not None:
        return decoded
    if "filename" in params:
        value = params["filename"]
        for escape, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n"), ("%0d", "\r"), ("%0a", "\n")):
            value = value.replace(escape, char)
        return value
    return None
