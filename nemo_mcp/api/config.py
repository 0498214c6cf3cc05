"""Client configuration: environment, timeouts, retry and polling policy, attribution headers.

``ApiConfig.from_env(**overrides)`` is what the server uses; tests pass ``config_dir=tmp_path`` and
small timings.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nemo_mcp.api.download_hosts import DEFAULT_DOWNLOAD_HOSTS, parse_hosts
from nemo_mcp.api.errors import ConfigError
from nemo_mcp.api.identity import IdentityStore

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_WEB_URL",
    "MAX_DOWNLOAD_BYTES",
    "ApiConfig",
    "Attribution",
    "default_config_dir",
    "detect_platform",
    "parse_frontmatter",
    "read_attribution",
]

DEFAULT_API_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"
MB = 1024 * 1024
#: the largest rendered file ever saved, whatever the render announces (a 1080p render of an hour is ~2 GB)
MAX_DOWNLOAD_BYTES = 4096 * MB


def default_config_dir(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/nemovideo`` or ``~/.config/nemovideo`` (the folder the NemoVideo skills use)."""
    env = dict(os.environ) if env is None else env
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "nemovideo"


@dataclass(frozen=True)
class Attribution:
    """Values of ``X-Skill-Source`` / ``X-Skill-Version`` / ``X-Skill-Platform``."""

    source: str
    version: str
    platform: str

    def headers(self) -> dict[str, str]:
        return {
            "X-Skill-Source": self.source,
            "X-Skill-Version": self.version,
            "X-Skill-Platform": self.platform,
        }


_FRONTMATTER_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\s*:\s*(.*?)\s*$")


def parse_frontmatter(text: str) -> dict[str, str]:
    """Top-level ``key: value`` lines of a YAML frontmatter block (``---`` ... ``---``). No YAML library."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    out: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            break
        if not line or line[0] in " \t#-":
            continue  # nested or list or comment
        m = _FRONTMATTER_LINE.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if " #" in value and not value.startswith(("'", '"')):
            value = value.split(" #", 1)[0].rstrip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if value in ("", "|", ">"):
            continue
        out[key] = value
    return out


def _skill_md_text() -> tuple[str | None, Path | None]:
    """SKILL.md shipped in the wheel (``nemo_mcp/SKILL.md``), else the repo-root copy next to the package."""
    try:
        res = resources.files("nemo_mcp").joinpath("SKILL.md")
        if res.is_file():
            path = Path(str(res)) if isinstance(res, Path) or hasattr(res, "__fspath__") else None
            return res.read_text(encoding="utf-8"), path
    except (OSError, ModuleNotFoundError, UnicodeDecodeError, TypeError):
        pass
    import nemo_mcp

    repo_copy = Path(nemo_mcp.__file__).resolve().parent.parent / "SKILL.md"
    try:
        return repo_copy.read_text(encoding="utf-8"), repo_copy
    except (OSError, UnicodeDecodeError):
        return None, None


def detect_platform(env: dict[str, str] | None = None, install_path: Path | None = None) -> str:
    """``$SKILL_SOURCE``, else from the install path (``~/.clawhub/`` -> clawhub,
    ``~/.cursor/skills/`` -> cursor), else ``unknown``."""
    env = dict(os.environ) if env is None else env
    explicit = env.get("SKILL_SOURCE", "").strip()
    if explicit:
        return _header_safe(explicit)
    if install_path is None:
        import nemo_mcp

        install_path = Path(nemo_mcp.__file__).resolve().parent
    home = Path(env.get("HOME") or Path.home())
    try:
        resolved = install_path.resolve()
    except OSError:
        resolved = install_path
    for prefix, name in ((home / ".clawhub", "clawhub"), (home / ".cursor" / "skills", "cursor")):
        try:
            resolved.relative_to(prefix.resolve())
            return name
        except (ValueError, OSError):
            continue
    return "unknown"


def _header_value_ok(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value and len(value) <= 4096


def _header_safe(value: str, limit: int = 100) -> str:
    cleaned = "".join(ch for ch in value if 0x20 <= ord(ch) < 0x7F).strip()
    return cleaned[:limit] or "unknown"


@lru_cache(maxsize=1)
def _frontmatter_cached() -> tuple[dict[str, str], str | None]:
    text, path = _skill_md_text()
    return (parse_frontmatter(text) if text else {}), (str(path) if path else None)


def read_attribution(env: dict[str, str] | None = None) -> Attribution:
    """Attribution from SKILL.md's frontmatter (read at run time) and the platform detector."""
    meta, _path = _frontmatter_cached()
    from nemo_mcp import __version__

    source = _header_safe(meta.get("name", "") or "nemo-mcp")
    version = _header_safe(meta.get("version", "") or __version__)
    return Attribution(source=source, version=version, platform=detect_platform(env))


def _float(env: dict[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number of seconds, got {raw[:40]!r}.") from exc


def _check_url(name: str, url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username or parts.password:
        raise ConfigError(f"{name} must be an http(s) URL without credentials, e.g. {DEFAULT_API_URL}.")
    return url


@dataclass(frozen=True)
class ApiConfig:
    """Everything :class:`~nemo_mcp.api.NemoClient` needs. Immutable; derive variants with :meth:`replace`.

    Timings are in seconds. The token is excluded from ``repr``.
    """

    base_url: str = DEFAULT_API_URL
    web_url: str = DEFAULT_WEB_URL
    token: str | None = field(default=None, repr=False)  # NEMO_TOKEN: when set, no anonymous token is minted
    client_id: str | None = None  # NEMO_CLIENT_ID; else the client_id file in config_dir
    config_dir: Path = field(default_factory=default_config_dir)
    skill_source: str | None = None  # SKILL_SOURCE (X-Skill-Platform); None = detect from the install path
    persist_token: bool = True  # keep the anonymous token in the state store (config_dir/state.db, 0600)

    # HTTP timeouts
    connect_timeout: float = 5.0
    request_timeout: float = 60.0  # read timeout of ordinary JSON calls
    upload_timeout: float = 600.0  # read timeout waiting for the upload response
    write_timeout: float = 60.0  # per chunk
    download_timeout: float = 120.0  # per read while downloading

    # /run_sse
    sse_read_timeout: float = 900.0  # overall budget of one turn ("Timeout: 15 min", docs/skill.md)
    sse_idle_timeout: float = 600.0  # watchdog: end the turn after this long with heartbeats only

    # retries of idempotent calls (GET, anonymous-token, claim-token)
    max_retries: int = 2
    retry_base_delay: float = 0.5
    retry_max_delay: float = 8.0
    retry_after_cap: float = 60.0  # Retry-After above this is not waited for; the error is raised instead
    rate_limit_retry_delay: float = 30.0  # anonymous-token 429: watch the store this long, then retry once
    token_lock_timeout: float = 45.0  # wait this long for another process minting a token, then mint too

    # render polling
    render_poll_initial: float = 2.0
    render_poll_factor: float = 1.5
    render_poll_max: float = 15.0
    render_poll_min: float = 1.0  # shortest wait when polling near the completion predicted from progress
    render_timeout: float = 600.0
    render_url_grace: float = 20.0  # `completed` without an output URL: keep polling this long
    render_poll_error_budget: int = 8  # consecutive transient poll errors tolerated

    # uploads
    max_upload_bytes: int = 500 * MB
    upload_chunk_size: int = 1 * MB
    upload_stall_timeout: float = 60.0  # a local file read that returns nothing this long ends the upload

    # downloads: hosts a render URL may be on besides the API's own (NEMO_DOWNLOAD_HOSTS), and the cap
    download_hosts: tuple[str, ...] = DEFAULT_DOWNLOAD_HOSTS
    max_download_bytes: int = MAX_DOWNLOAD_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _check_url("NEMO_API_URL", self.base_url))
        object.__setattr__(self, "web_url", _check_url("NEMO_WEB_URL", self.web_url))
        object.__setattr__(self, "config_dir", Path(self.config_dir).expanduser())
        if self.token is not None:
            tok = self.token.strip()
            if tok and not _header_value_ok(tok):
                raise ConfigError(
                    "NEMO_TOKEN contains spaces or non-ASCII characters. Copy the token again from "
                    "nemovideo.com (Settings -> API Tokens), or unset it to use a free anonymous token."
                )
            object.__setattr__(self, "token", tok or None)
        if self.client_id is not None:
            cid = self.client_id.strip()
            if cid and not _header_value_ok(cid):
                raise ConfigError("NEMO_CLIENT_ID must be plain ASCII without spaces, e.g. a UUID.")
            object.__setattr__(self, "client_id", cid[:64] or None)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> ApiConfig:
        """Read ``NEMO_API_URL``, ``NEMO_WEB_URL``, ``NEMO_TOKEN``, ``NEMO_CLIENT_ID``, ``SKILL_SOURCE``,
        ``NEMO_DOWNLOAD_HOSTS`` and ``XDG_CONFIG_HOME``; keyword arguments override (e.g.
        ``base_url=backend.url, config_dir=tmp``)."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {
            "base_url": env.get("NEMO_API_URL", "").strip() or DEFAULT_API_URL,
            "web_url": env.get("NEMO_WEB_URL", "").strip() or DEFAULT_WEB_URL,
            "token": env.get("NEMO_TOKEN") or None,
            "client_id": env.get("NEMO_CLIENT_ID") or None,
            "config_dir": default_config_dir(env),
            "skill_source": env.get("SKILL_SOURCE") or None,
        }
        if env.get("NEMO_DOWNLOAD_HOSTS", "").strip():
            values["download_hosts"] = parse_hosts(env["NEMO_DOWNLOAD_HOSTS"])
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> ApiConfig:
        return dataclasses.replace(self, **changes)

    def attribution(self) -> Attribution:
        env = dict(os.environ)
        if self.skill_source:
            env["SKILL_SOURCE"] = self.skill_source
        else:
            env.pop("SKILL_SOURCE", None)
        return read_attribution(env)

    @property
    def client_id_path(self) -> Path:
        """Where the client id is kept (named by :class:`~nemo_mcp.api.identity.IdentityStore`)."""
        return IdentityStore(self.config_dir).client_id_path
