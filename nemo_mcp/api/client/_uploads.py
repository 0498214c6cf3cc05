"""Media into a session: local files as one streamed multipart request, or URLs the backend fetches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from nemo_mcp.api.client._transport import APP, ProgressCallback, Transport, path_segment
from nemo_mcp.api.errors import BadRequestError, FileTooLargeError, UnsupportedFileError
from nemo_mcp.api.media import MediaFile, preflight, too_large, unsupported_type_message
from nemo_mcp.api.models import UploadedFile
from nemo_mcp.api.parsing import parse_uploaded_files
from nemo_mcp.api.upload import build_multipart

__all__ = ["Uploads"]

log = logging.getLogger("nemo_mcp.api")


class Uploads:
    """Media into a session: local files (one streamed multipart request) or URLs, over one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def files(
        self,
        session_id: str,
        paths: Sequence[str | Path | MediaFile],
        *,
        progress: ProgressCallback | None = None,
    ) -> list[UploadedFile]:
        """Preflight every file, then stream them in one multipart request (field ``files``) with a known
        Content-Length and constant memory. ``progress(sent_bytes, total_bytes)`` counts file bytes.

        A :class:`~nemo_mcp.api.media.MediaFile` (a caller's own :func:`~nemo_mcp.api.media.preflight`) is not
        checked again, except against ``max_upload_bytes``; every file is read through ``open_checked``, so
        one replaced since its check is refused instead of sent."""
        if not paths:
            raise BadRequestError("No files to upload.")
        cfg = self._transport.config
        limit = cfg.max_upload_bytes
        items = [p if isinstance(p, MediaFile) else preflight(p, max_bytes=limit) for p in paths]
        for item in items:
            if item.size > limit:
                raise too_large(item.name, item.size, limit, item.path)
        body = build_multipart(
            items, chunk_size=cfg.upload_chunk_size, stall_timeout=cfg.upload_stall_timeout
        )
        names = ", ".join(i.name for i in items)
        try:
            data = await self._transport.request(
                "POST",
                f"/api/upload-video/{APP}/me/{path_segment(session_id, 'session id')}",
                endpoint="upload",
                content=lambda: body.stream(progress),
                headers={"Content-Type": body.content_type, "Content-Length": str(body.content_length)},
                timeout=self._transport.timeout(cfg.upload_timeout),
                session_id=session_id,
                if_unanswered=(
                    f"Check the project's timeline (its media) before uploading {names} again, "
                    "so the files are not added twice."
                ),
            )
        except UnsupportedFileError as exc:
            if exc.path is not None:
                raise
            raise exc.reworded(unsupported_type_message(names)) from None
        except FileTooLargeError as exc:
            if exc.path is not None:
                raise
            raise exc.reworded(
                f"NemoVideo says {names} is too large. Compress it or trim it to a shorter clip, "
                "then upload again."
            ) from None
        files = parse_uploaded_files(data)
        log.info("uploaded %d file(s) to session %s", len(files), session_id)
        return files

    async def urls(self, session_id: str, urls: Sequence[str]) -> list[UploadedFile]:
        """Import media the backend downloads itself: ``{"urls": [...], "source_type": "url"}``."""
        clean: list[str] = []
        for url in urls:
            parts = urlsplit(url.strip()) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise BadRequestError(
                    f"{str(url)[:200]!r} is not an http(s) URL. Give a direct link to the media file."
                )
            clean.append(url.strip())
        if not clean:
            raise BadRequestError("No URLs to import.")
        cfg = self._transport.config
        data = await self._transport.request(
            "POST",
            f"/api/upload-video/{APP}/me/{path_segment(session_id, 'session id')}",
            endpoint="upload",
            json_body={"urls": clean, "source_type": "url"},
            timeout=self._transport.timeout(cfg.upload_timeout, write=cfg.upload_timeout),
            session_id=session_id,
            if_unanswered=(
                "Check the project's timeline (its media) before importing the same URLs again, "
                "so the media is not added twice."
            ),
        )
        return parse_uploaded_files(data)
