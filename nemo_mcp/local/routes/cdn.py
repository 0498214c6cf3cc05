"""`GET /cdn/<path>`: unauthenticated static files (uploads, generated media, render outputs), like a
public CDN. Render outputs 404 under the `output_url_gone` knob, so clients must use `/download`."""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from nemo_mcp.local.envelope import ApiError
from nemo_mcp.local.files import public_file
from nemo_mcp.local.routes.context import state_of


async def cdn(request: Request) -> Response:
    state = state_of(request)
    rel = request.path_params["path"]
    if state.knobs.output_url_gone and rel.startswith("renders/"):
        raise ApiError(404, "Not found")
    path = public_file(state.data_dir, rel)
    if path is None:
        raise ApiError(404, "Not found")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


def routes() -> list[Route]:
    return [Route("/cdn/{path:path}", cdn, methods=["GET", "HEAD"])]
