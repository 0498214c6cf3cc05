"""The rendered file to disk: streamed through a temp file, checked for size, renamed atomically.

The output URL is tried first (the API token is sent only when it is on the API's own origin), then
``/api/render/proxy/<id>/download``; a JSON answer that points at the file is followed once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from nemo_mcp.api.client._transport import ProgressCallback, Transport, notify, path_segment, transport_error
from nemo_mcp.api.envelope import parse_envelope
from nemo_mcp.api.errors import AuthError, DownloadError, NemoError, PlanRequiredError
from nemo_mcp.api.parsing import parse_render_status

__all__ = ["Downloads"]

log = logging.getLogger("nemo_mcp.api")


class Downloads:
    """Rendered files to disk, over one transport (whose token goes only to the API's own origin)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._auth = transport.auth

    async def download(
        self,
        render_id: str,
        dest: str | Path,
        *,
        output_url: str | None = None,
        expected_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream the rendered file to ``dest`` (a file path, or a folder -> ``<render_id>.mp4``)
        through a temp file and an atomic rename. Tries ``output_url`` first (no API token unless it is
        on the API host), then ``/api/render/proxy/<id>/download``. Partial files are removed on failure."""
        target = await anyio.to_thread.run_sync(_prepare_target, Path(dest), str(dest), render_id)
        sources: list[str] = []
        if output_url and output_url.strip():
            url = output_url.strip()
            if url.startswith("/"):
                url = urljoin(self._transport.config.base_url + "/", url.lstrip("/"))
            if urlsplit(url).scheme in ("http", "https"):
                sources.append(url)
        base = self._transport.config.base_url
        sources.append(f"{base}/api/render/proxy/{path_segment(render_id, 'render id')}/download")
        last: NemoError | None = None
        for url in sources:
            try:
                return await self._download_one(url, target, expected_size, progress)
            except NemoError as exc:
                last = exc
                log.info("download of render %s from %s failed (%s)", render_id, _redact_url(url), exc.tag)
        assert last is not None
        if isinstance(last, (DownloadError, AuthError, PlanRequiredError)):
            raise last
        raise DownloadError(
            f"The rendered video {render_id} could not be downloaded ({last.tag}). Try the download again."
        ) from None

    def _same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self._transport.config.base_url)

    async def _download_one(
        self,
        url: str,
        target: Path,
        expected_size: int | None,
        progress: ProgressCallback | None,
        *,
        depth: int = 0,
        reauthed: bool = False,
    ) -> Path:
        cfg = self._transport.config
        headers: dict[str, str] = {}
        token: str | None = None
        if self._same_origin(url):
            token = await self._auth.ensure_token()
            headers["Authorization"] = f"Bearer {token}"
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
        timeout = self._transport.timeout(cfg.download_timeout)
        http = await self._transport.client()
        try:
            async with http.stream(
                "GET", url, headers=headers, timeout=timeout, follow_redirects=True
            ) as resp:
                ctype = resp.headers.get("content-type", "").lower()
                if resp.status_code >= 300 or "json" in ctype:
                    raw = await self._transport.read_capped(resp)
                    try:
                        payload = parse_envelope(
                            resp.status_code, raw, headers=resp.headers, endpoint="other"
                        )
                    except AuthError as exc:
                        if token is not None and not reauthed and self._auth.can_remint():
                            await self._auth.remint(token)
                            return await self._download_one(
                                url, target, expected_size, progress, depth=depth, reauthed=True
                            )
                        raise self._auth.final_error(exc, reauthed) from None
                    # a JSON answer that points at the file (gateway-B style {"output": {"url", "size"}})
                    nested = parse_render_status(payload, "") if isinstance(payload, Mapping) else None
                    if nested is not None and nested.output_url and depth == 0:
                        return await self._download_one(
                            nested.output_url, target, expected_size or nested.size, progress, depth=1
                        )
                    raise DownloadError("The download link returned no video file. Try the download again.")
                length_header = resp.headers.get("content-length")
                total = int(length_header) if length_header and length_header.isdigit() else None
                received = 0
                async with await anyio.open_file(tmp, "wb") as fh:
                    async for chunk in resp.aiter_bytes(1024 * 1024):
                        await fh.write(chunk)
                        received += len(chunk)
                        await notify(progress, received, total or expected_size or 0)
                if total is not None and received != total:
                    raise DownloadError(
                        f"The download stopped early ({received} of {total} bytes). Try the download again."
                    )
                if expected_size is not None and received != expected_size:
                    raise DownloadError(
                        f"The downloaded file has {received} bytes, expected {expected_size}. "
                        "Try the download again."
                    )
                if received == 0:
                    raise DownloadError("The download returned an empty file. Try the download again.")
            os.replace(tmp, target)
            log.info("downloaded %d bytes to %s", received, target)
            return target
        except httpx.HTTPError as exc:
            raise transport_error(exc, "download") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _prepare_target(dest: Path, raw: str, render_id: str) -> Path:
    target = dest.expanduser()
    if target.is_dir() or raw.endswith(("/", os.sep)):
        target = target / f"{path_segment(render_id, 'render id')}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port
