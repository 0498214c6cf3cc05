"""Invented stand-ins for NemoVideo's website, so the links handed out in local mode open something useful.

Neither page is part of the NemoVideo API; the real ones live on nemovideo.com (docs/nemo-api.md §1.6, §1.13).
In local mode the MCP server sets `NEMO_WEB_URL` to this backend's base URL, so:

- `GET /workspace/claim?ct=<claim token>` shows the project the token was issued for (task, session,
  timeline, media, the latest finished render). An unknown or expired token gets a 404 page.
- `GET /register?bind=<anon id>` explains that the local backend has no accounts and how to get credits back.

Pages are self-contained (no scripts, no external assets, a restrictive CSP); every value is escaped, since
titles, file names and task names are user text.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.accounts import claimed_session
from nemo_mcp.local.routes.context import base_url, state_of
from nemo_mcp.local.state import RenderJob, Session

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "media-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the claim token is in the URL
    "Cache-Control": "no-store",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.5rem}code,pre{background:#f3f3f3;padding:0 .2em}"
    "pre{padding:.5em;overflow-x:auto}li{margin:.15em 0}.muted{color:#666}footer{margin-top:2rem;color:#888;"
    "font-size:.85rem}video{max-width:100%}"
)
TRACK_NAMES = {drafts.VIDEO: "Video", drafts.AUDIO: "Music (audio)", drafts.TEXT: "Text"}
FOOTER = "nemo-mcp local backend: an offline stand-in for NemoVideo, not the NemoVideo website."


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{e(title)}</title><style>{STYLE}</style></head>\n'
        f"<body>\n{body}\n<footer>{e(FOOTER)}</footer>\n</body></html>\n"
    )
    return HTMLResponse(doc, status_code=status, headers=HEADERS)


def clock(ms: Any) -> str:
    """Milliseconds as m:ss.s (h:mm:ss.s past an hour); anything unreadable as `?`."""
    try:
        tenths = round(float(ms) / 100)
    except (TypeError, ValueError):
        return "?"
    sign, tenths = ("-", -tenths) if tenths < 0 else ("", tenths)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    sec = f"{rest // 10:02d}.{rest % 10}"
    return f"{sign}{hours}:{minutes:02d}:{sec}" if hours else f"{sign}{minutes}:{sec}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def segment_line(seg: dict[str, Any], tt: Any) -> str:
    """One readable line per segment: times, name or title text, and volume/speed where they apply."""
    start, dur = _num(seg.get("s")), _num(seg.get("d"))
    span = f"{clock(start)}–{clock(start + dur)}" if start is not None and dur is not None else "?"
    meta: dict[str, Any] = seg["m"] if isinstance(seg.get("m"), dict) else {}
    parts = [f"<b>{e(span)}</b>"]
    if tt == drafts.TEXT or "txt" in seg:
        parts.append(f"title “{e(seg.get('txt', ''))}”")
        if meta.get("pos"):
            parts.append(f"at {e(meta['pos'])}")
    else:
        parts.append(e(seg.get("n") or "(unnamed)"))
        kind = meta.get("kind")
        if kind == "image":
            parts.append("still image")
        speed = _num(seg.get("sp"))
        if speed is not None and speed != 1.0:
            parts.append(f"speed ×{e(f'{speed:g}')}")
        volume = _num(seg.get("v"))
        if volume is not None and kind != "image":
            parts.append("muted" if volume == 0 else f"volume {e(f'{volume:g}')}%")
        if meta.get("loop"):
            parts.append("looped")
    return "<li>" + " · ".join(parts) + "</li>"


def timeline_html(draft: Any) -> str:
    """Our own small formatter over the draft (draft.py documents the keys)."""
    tracks = draft.get("t") if isinstance(draft, dict) else None
    tracks = [t for t in tracks if isinstance(t, dict)] if isinstance(tracks, list) else []
    if not any(isinstance(t.get("sg"), list) and t["sg"] for t in tracks):
        return '<p class="muted">The timeline is empty: upload media or ask for a video first.</p>'
    meta: dict[str, Any] = draft["m"] if isinstance(draft.get("m"), dict) else {}
    head = f"<p>Length {e(clock(draft.get('d', 0)))}"
    if meta.get("width") and meta.get("height"):
        head += f" · canvas {e(meta['width'])}×{e(meta['height'])}"
        if meta.get("fps"):
            head += f" at {e(meta['fps'])} fps"
    out = [head + "</p>", "<ol>"]
    for trk in tracks:
        sg = trk.get("sg") if isinstance(trk.get("sg"), list) else []
        tt = trk.get("tt")
        name = TRACK_NAMES.get(tt, f"Track type {tt}") if isinstance(tt, int) else "Track"
        count = f"{len(sg)} segment" + ("" if len(sg) == 1 else "s")
        lines = "".join(segment_line(seg, tt) for seg in sg if isinstance(seg, dict))
        out.append(f"<li>{e(name)} track ({e(count)})<ul>{lines}</ul></li>")
    out.append("</ol>")
    return "\n".join(out)


def media_html(infos: Any) -> str:
    items = [i for i in infos if isinstance(i, dict)] if isinstance(infos, list) else []
    if not items:
        return '<p class="muted">No media yet.</p>'
    lines = []
    for info in items:
        facts = [e(info.get("file_type", "file"))]
        duration = _num(info.get("duration"))
        if duration and info.get("file_type") != "image":
            facts.append(e(clock(duration * 1000)))
        if info.get("width") and info.get("height"):
            facts.append(f"{e(info['width'])}×{e(info['height'])}")
        name = e(info.get("filename") or "(unnamed)")
        url = info.get("cdn_url")
        link = f'<a href="{e(url)}">{name}</a>' if isinstance(url, str) and url.startswith("http") else name
        lines.append(f"<li>{link} <span class='muted'>({', '.join(facts)})</span></li>")
    return "<ul>" + "".join(lines) + "</ul>"


def renders_html(request: Request, jobs: list[RenderJob]) -> str:
    if not jobs:
        return '<p class="muted">Not exported yet.</p>'
    done = [j for j in jobs if j.status == "completed" and j.out.is_file()]
    out = []
    if done:
        latest = max(done, key=lambda j: j.completed_at or j.created_at)
        url = f"{base_url(request)}/cdn/renders/{quote(latest.out.name)}"
        out.append(
            f'<video controls preload="metadata" src="{e(url)}"></video>'
            f'<p><a href="{e(url)}">Download {e(latest.out.name)}</a></p>'
        )
    lines = []
    for job in sorted(jobs, key=lambda j: j.created_at):
        line = f"<li><code>{e(job.id)}</code>: {e(job.status)}"
        if job.status not in ("completed", "failed", "cancelled"):
            line += f" ({e(job.progress)}%)"
        if job.error:
            line += f" — {e(job.error)}"
        lines.append(line + "</li>")
    out.append("<ul>" + "".join(lines) + "</ul>")
    return "\n".join(out)


def project_page(request: Request, session: Session) -> HTMLResponse:
    jobs = [j for j in state_of(request).renders.values() if j.session_id == session.session_id]
    body = "\n".join(
        [
            f"<h1>{e(session.task_name)}</h1>",
            f"<p>Task <code>{e(session.task_id)}</code> · session <code>{e(session.session_id)}</code></p>",
            "<h2>Timeline</h2>",
            timeline_html(session.state.get("draft")),
            "<h2>Media</h2>",
            media_html(session.state.get("video_infos")),
            "<h2>Export</h2>",
            renders_html(request, jobs),
        ]
    )
    return page(f"{session.task_name} · NemoVideo (local)", body)


async def claim(request: Request) -> Response:
    """Invented: the local stand-in for `$WEB/workspace/claim?ct=<claim token>` (docs/nemo-api.md §1.6)."""
    session = claimed_session(state_of(request), request.query_params.get("ct", ""))
    if session is None:
        body = (
            "<h1>This link is invalid or has expired</h1>"
            "<p>Project links from the local backend last as long as the backend runs (and at most "
            "<code>claim_ttl_seconds</code>). Ask the assistant for a fresh link.</p>"
        )
        return page("Invalid link · NemoVideo (local)", body, status=404)
    return project_page(request, session)


async def register(request: Request) -> Response:
    """Invented: the local stand-in for `$WEB/register?bind=<anon id>` (docs/nemo-api.md §1.13, code 2001)."""
    state = state_of(request)
    bind = request.query_params.get("bind", "")
    user = state.users.get(bind)
    base = base_url(request)
    balance = ""
    who = user.user_id if user is not None else "*"
    if user is not None:
        left = user.credits()["available"]
        balance = f"<p>User <code>{e(user.user_id)}</code> has {e(left)} credits available.</p>"
    elif bind:
        balance = f"<p>User <code>{e(bind)}</code> is not known to this backend (it may have restarted).</p>"
    body = f"""<h1>No accounts on the local backend</h1>
<p>This is the offline NemoVideo stand-in built into nemo-mcp. There is nothing to register or buy:
every anonymous user starts with <b>{e(state.knobs.initial_credits)}</b> credits.</p>
{balance}
<h2>Getting credits back</h2>
<ul>
<li><b>Restart</b> the local backend (or the MCP server that embeds it): everyone starts over.</li>
<li><b>Reset</b> it without restarting: <pre>curl -X POST {e(base)}/_local/reset</pre>
The client then signs in again as a new anonymous user with fresh credits; projects are forgotten.</li>
<li><b>Top up</b> one user (or <code>"*"</code> for everyone):
<pre>curl -X PATCH {e(base)}/_local/credits -H 'Content-Type: application/json'
-d '{{"user_id": "{e(who)}", "available": 1000}}'</pre></li>
<li><b>Start with more</b>: set the <code>initial_credits</code> knob
(<code>--initial-credits 1000</code>, <code>NEMO_LOCAL_INITIAL_CREDITS=1000</code>, or
<code>curl -X PATCH {e(base)}/_local/knobs -H 'Content-Type: application/json'
-d '{{"initial_credits": 1000}}'</code>); it applies to users created afterwards, e.g. after a reset.</li>
</ul>
<p class="muted">The admin routes under <code>/_local/</code> answer loopback clients only.</p>"""
    return page("Credits · NemoVideo (local)", body)


def routes() -> list[Route]:
    return [
        Route("/workspace/claim", claim, methods=["GET"]),
        Route("/register", register, methods=["GET"]),
    ]
