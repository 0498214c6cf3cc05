"""The rendered file to disk: from checked hosts only, capped, into a reserved name, renamed at the end.

Sources, in order: the output URL (when :mod:`nemo_mcp.api.download_hosts` allows it; the API token is sent
only to the API's own origin), then ``/api/render/proxy/<id>/download``; a JSON answer that points at the
file is followed once, redirects by hand (each hop checked). The file is written through a
:class:`~nemo_mcp.api.saving.Reserved` name (a ``.part`` beside it, renamed over it at the end), never
larger than the cap: the render's announced size plus a margin, and never above ``max_download_bytes``,
with or without a ``Content-Length``.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from nemo_mcp.api.client._transport import ProgressCallback, Transport, notify, path_segment, transport_error
from nemo_mcp.api.download_hosts import Resolver, refusal, resolve_addresses, resolve_target
from nemo_mcp.api.envelope import parse_envelope
from nemo_mcp.api.errors import (
    AuthError,
    DiskFullError,
    DownloadError,
    DownloadIncompleteError,
    DownloadTooLargeError,
    NemoError,
    PlanRequiredError,
    format_size,
)
from nemo_mcp.api.parsing import parse_render_status
from nemo_mcp.api.saving import Reserved, SaveFolder

__all__ = ["Downloads", "download_cap"]

log = logging.getLogger("nemo_mcp.api")

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_MARGIN_MIN = 1024 * 1024
_WRITE_SIZE = 1024 * 1024
_NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def download_cap(expected_size: int | None, maximum: int) -> int:
    """The most bytes a download may bring: the announced size plus 10 % (at least 1 MiB), never more
    than ``maximum``; ``maximum`` itself when nothing was announced."""
    if expected_size is None or expected_size <= 0:
        return maximum
    return min(maximum, expected_size + max(_MARGIN_MIN, expected_size // 10))


class Downloads:
    """Rendered files to disk, over one transport (whose token goes only to the API's own origin)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._auth = transport.auth
        #: name -> addresses of the hosts a rendered file is fetched from (tests hook it)
        self.resolve: Resolver = resolve_addresses

    async def download(
        self,
        render_id: str,
        dest: str | Path | Reserved,
        *,
        output_url: str | None = None,
        expected_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream the rendered file to ``dest``: a :class:`Reserved` name (taken over: committed on
        success, given back on failure), or a path (a file, replaced when it exists, or a folder ->
        ``<render_id>.mp4``). Nothing is left behind on failure."""
        cfg = self._transport.config
        folder: SaveFolder | None = None
        if isinstance(dest, Reserved):
            target = dest
        else:
            try:
                made = await anyio.to_thread.run_sync(_reserve_path, Path(dest), str(dest), render_id)
            except OSError as exc:
                reason = exc.strerror or "no access"
                raise DownloadError(
                    f"The rendered video {render_id} cannot be saved at {dest} ({reason}). Choose another "
                    "place, then download it again."
                ) from None
            folder, target = made
        try:
            sources: list[str] = []
            if output_url and output_url.strip():
                url = output_url.strip()
                if url.startswith("/"):
                    url = urljoin(cfg.base_url + "/", url.lstrip("/"))
                refused = refusal(url, cfg.base_url, cfg.download_hosts)
                if refused is None:
                    sources.append(url)
                else:
                    log.warning("render %s: output URL not opened (%s)", render_id, refused)
            sources.append(f"{cfg.base_url}/api/render/proxy/{path_segment(render_id, 'render id')}/download")
            cap = download_cap(expected_size, cfg.max_download_bytes)
            last: NemoError | None = None
            for url in sources:
                try:
                    await self._download_one(url, target, expected_size, cap, progress)
                except (AuthError, PlanRequiredError):
                    raise
                except NemoError as exc:
                    last = exc
                    shown = _redact_url(url)
                    log.info("download of render %s from %s failed (%s)", render_id, shown, exc.tag)
                    await anyio.to_thread.run_sync(target.drop_part)
                    continue
                path = await anyio.to_thread.run_sync(target.commit)
                log.info("downloaded render %s to %s", render_id, path)
                return path
            assert last is not None
            if isinstance(last, DownloadError):
                raise last
            raise DownloadError(
                f"The rendered video {render_id} could not be downloaded ({last.tag}). "
                "Try the download again."
            ) from None
        except OSError as exc:
            raise _save_error(exc, render_id, target) from None
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(target.discard)  # a no-op after commit
                if folder is not None:
                    folder.close()

    async def _download_one(
        self,
        url: str,
        target: Reserved,
        expected_size: int | None,
        cap: int,
        progress: ProgressCallback | None,
        *,
        depth: int = 0,
        reauthed: bool = False,
    ) -> None:
        cfg = self._transport.config
        http = await self._transport.client()
        timeout = self._transport.timeout(cfg.download_timeout)
        for _hop in range(MAX_REDIRECTS + 1):
            dest = await resolve_target(url, cfg.base_url, cfg.download_hosts, self.resolve)
            headers = dict(dest.headers)
            token: str | None = None
            if dest.own:
                token = await self._auth.ensure_token()
                headers["Authorization"] = f"Bearer {token}"
            received = 0
            total: int | None = None
            started = False  # the file's bytes had begun to come
            try:
                async with http.stream(
                    "GET", dest.url, headers=headers, timeout=timeout, extensions=dest.extensions
                ) as resp:
                    location = resp.headers.get("location")
                    if resp.status_code in _REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
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
                                    url, target, expected_size, cap, progress, depth=depth, reauthed=True
                                )
                            raise self._auth.final_error(exc, reauthed) from None
                        # a JSON answer that points at the file (gateway-B style {"output": {"url", "size"}})
                        nested = parse_render_status(payload, "") if isinstance(payload, Mapping) else None
                        if nested is not None and nested.output_url and depth == 0:
                            size = expected_size or nested.size
                            cap = min(cap, download_cap(size, cfg.max_download_bytes))
                            return await self._download_one(
                                nested.output_url, target, size, cap, progress, depth=1
                            )
                        raise DownloadError(
                            "The download link returned no video file. Try the download again."
                        )
                    length_header = resp.headers.get("content-length")
                    total = int(length_header) if length_header and length_header.isdigit() else None
                    if total is not None and total > cap:
                        raise _too_large(total, cap, expected_size)
                    await anyio.to_thread.run_sync(target.open_part)
                    started = True
                    pending = bytearray()  # written in 1 MiB pieces; counted and capped as it arrives
                    async for chunk in resp.aiter_bytes():
                        received += len(chunk)
                        if received > cap:
                            raise _too_large(received, cap, expected_size)
                        pending += chunk
                        if len(pending) >= _WRITE_SIZE:
                            await anyio.to_thread.run_sync(target.write, bytes(pending))
                            pending.clear()
                            await notify(progress, received, total or expected_size or 0)
                    if pending:
                        await anyio.to_thread.run_sync(target.write, bytes(pending))
                        await notify(progress, received, total or expected_size or 0)
            except httpx.HTTPError as exc:
                if started:  # the file had begun: it is this download that broke, not the backend
                    raise _incomplete(received, total or expected_size) from None
                raise transport_error(exc, "download") from None
            if total is not None and received != total:
                raise _incomplete(received, total)
            if expected_size is not None and received < expected_size:
                raise _incomplete(received, expected_size)
            if received == 0:
                raise DownloadError("The download returned an empty file. Try the download again.")
            return None
        raise DownloadError("The download link redirected too many times. Try the download again.")


def _reserve_path(dest: Path, raw: str, render_id: str) -> tuple[SaveFolder, Reserved]:
    """A caller's path: its folder opened (created if missing), the name taken over (replaced at the end)."""
    target = dest.expanduser()
    if target.is_dir() or raw.endswith(("/", "\\")):
        target = target / f"{path_segment(render_id, 'render id')}.mp4"
    folder = SaveFolder.open(target.parent)
    return folder, folder.reserve(target.name, overwrite=True)


def _incomplete(received: int, total: int | None) -> DownloadIncompleteError:
    err = DownloadIncompleteError(received=received, total=total)
    return err.reworded(
        f"The download stopped early ({err.amount}, then the connection ended); nothing was saved. "
        "Try the download again.",
        received=received,
        total=total,
    )


def _too_large(size: int, cap: int, announced: int | None) -> DownloadTooLargeError:
    err = DownloadTooLargeError(size=size, cap=cap, announced=announced)
    return err.reworded(
        f"The download reached {format_size(size)}, {err.why}, so it was stopped and nothing was saved. "
        "This is a fault of the server that sent it; try again later.",
        size=size,
        cap=cap,
        announced=announced,
    )


def _save_error(exc: OSError, render_id: str, target: Reserved) -> DownloadError:
    if exc.errno in _NO_SPACE:
        return DiskFullError(
            f"The disk holding {target.folder.path} is full, so the rendered video {render_id} could not be "
            "saved there (nothing was left behind). Free some space, then download it again."
        )
    reason = exc.strerror or type(exc).__name__
    return DownloadError(
        f"The rendered video {render_id} could not be saved in {target.folder.path} ({reason}); nothing "
        "was left behind. Check the folder, then download it again."
    )


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
