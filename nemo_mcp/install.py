"""`nemo-mcp install --client claude|cursor|vscode|claude-code`: add nemo-mcp to an MCP host's configuration.

- claude (Claude Desktop), cursor and vscode: the entry is merged into the host's JSON file. The file is
  backed up first (`<file>.bak-<timestamp>`), other servers' entries and every other key are kept as they
  are, and a file that is not valid JSON is never overwritten. `--dry-run` prints the entry as JSON and
  writes nothing.
- claude-code: prints the `claude mcp add ...` command (Claude Code keeps its own configuration).

Hosts start servers with a minimal PATH, so the launch command is an absolute path: `uvx` found on PATH
(`uvx nemo-mcp`), else the `nemo-mcp` script of the Python running this command. On Windows the entry sets
`PYTHONIOENCODING=utf-8`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "nemo-mcp"
DEFAULT_NAME = "nemo-mcp"
CLIENTS = ("claude", "cursor", "vscode", "claude-code")
CLIENT_TITLES = {
    "claude": "Claude Desktop",
    "cursor": "Cursor",
    "vscode": "VS Code",
    "claude-code": "Claude Code",
}
LAUNCHERS = ("auto", "uvx", "pipx", "script")
SECRET_ENV = ("NEMO_TOKEN",)
VSCODE_TOKEN_INPUT = "nemo-token"  # noqa: S105 (an input id, not a secret)
RESTART_HINT = {
    "claude": "Quit Claude Desktop completely (not just its window) and start it again to load the server.",
    "cursor": "Open Cursor Settings > MCP (Tools & Integrations) and enable or refresh 'nemo-mcp'.",
    "vscode": "Run 'MCP: List Servers' in VS Code and start 'nemo-mcp' (it asks for the token once).",
}

Which = Callable[[str], str | None]


class InstallError(Exception):
    """A problem the user has to fix; the message says what to do. Nothing was written."""


@dataclass
class Launch:
    command: str
    args: list[str]
    note: str | None = None


@dataclass
class Plan:
    client: str
    name: str
    launch: Launch
    env: dict[str, str] = field(default_factory=dict)
    platform: str = "linux"


# --- where hosts keep their configuration -------------------------------------------------------------


def normalize_platform(value: str) -> str:
    if value.startswith("win"):
        return "win32"
    if value == "darwin":
        return "darwin"
    return "linux"


def default_config_path(
    client: str,
    platform: str,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    cwd: Path | None = None,
) -> Path:
    """The file a host reads its MCP servers from (user-wide; VS Code: the workspace's `.vscode/mcp.json`)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    cwd = Path.cwd() if cwd is None else cwd
    if client == "claude":
        if platform == "darwin":
            return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
        if platform == "win32":
            appdata = env.get("APPDATA", "").strip()
            base = Path(appdata) if appdata else home / "AppData" / "Roaming"
            return base / "Claude" / "claude_desktop_config.json"
        xdg = env.get("XDG_CONFIG_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
        return base / "Claude" / "claude_desktop_config.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "vscode":
        return cwd / ".vscode" / "mcp.json"
    raise InstallError(f"{client} has no configuration file that nemo-mcp writes; use --client claude-code.")


# --- how the host starts the server ----------------------------------------------------------------------


def _script_in(bin_dir: Path, platform: str) -> Path:
    return bin_dir / ("nemo-mcp.exe" if platform == "win32" else "nemo-mcp")


def resolve_launch(
    launcher: str,
    platform: str,
    backend: str | None = None,
    which: Which | None = None,
    executable: str | None = None,
) -> Launch:
    """The absolute command and arguments a host runs. `auto`: uvx when it is on PATH, else the script."""
    which = which or shutil.which
    server_args = ["--backend", "local"] if backend == "local" else []
    spec = f"{PACKAGE}[local]" if backend == "local" else PACKAGE
    if launcher in ("auto", "uvx"):
        uvx = which("uvx")
        if uvx:
            args = ["--from", spec, PACKAGE] if backend == "local" else [PACKAGE]
            return Launch(os.path.abspath(uvx), args + server_args)
        if launcher == "uvx":
            return Launch(
                "uvx",
                ([PACKAGE] if backend != "local" else ["--from", spec, PACKAGE]) + server_args,
                note="uvx is not on PATH here: install uv, or the host will fail with 'spawn uvx ENOENT'.",
            )
    if launcher == "pipx":
        pipx = which("pipx")
        args = ["run", "--spec", spec, PACKAGE] if backend == "local" else ["run", PACKAGE]
        if pipx:
            return Launch(os.path.abspath(pipx), args + server_args)
        return Launch(
            "pipx",
            args + server_args,
            note="pipx is not on PATH here: install pipx, or the host will fail with 'spawn pipx ENOENT'.",
        )
    # The nemo-mcp script of the Python running this command (a venv keeps it next to its python).
    python = os.path.abspath(executable or sys.executable)
    script = _script_in(Path(python).parent, platform)
    if script.is_file():
        return Launch(str(script), server_args)
    found = which("nemo-mcp")
    if found:
        return Launch(os.path.abspath(found), server_args)
    return Launch(python, ["-m", "nemo_mcp", *server_args])


# --- the entry --------------------------------------------------------------------------------------------


def build_env(
    pairs: Sequence[str],
    media_dirs: Sequence[str],
    download_dir: str | None,
    platform: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not key or not key.replace("_", "").isalnum():
            raise InstallError(
                f"--env {pair!r}: expected KEY=VALUE, or KEY to copy it from this environment."
            )
        if not sep:
            if key not in environ:
                raise InstallError(f"--env {key}: {key} is not set in this environment; pass {key}=VALUE.")
            value = environ[key]
        env[key] = value
    if media_dirs:
        sep = ";" if platform == "win32" else ":"
        env["NEMO_MEDIA_DIRS"] = sep.join(str(Path(d).expanduser().resolve()) for d in media_dirs)
    if download_dir:
        env["NEMO_DOWNLOAD_DIR"] = str(Path(download_dir).expanduser().resolve())
    if platform == "win32":
        env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def server_entry(plan: Plan) -> dict[str, Any]:
    """The value stored under the server's name in the host's file."""
    entry: dict[str, Any] = {}
    if plan.client == "vscode":
        entry["type"] = "stdio"
    entry["command"] = plan.launch.command
    entry["args"] = list(plan.launch.args)
    env = dict(plan.env)
    if plan.client == "vscode":
        # A workspace file is often committed: VS Code asks for the token instead of storing it.
        for key in SECRET_ENV:
            if key in env:
                env[key] = "${input:" + VSCODE_TOKEN_INPUT + "}"
    if env:
        entry["env"] = env
    return entry


def vscode_inputs(plan: Plan) -> list[dict[str, Any]]:
    if not any(key in plan.env for key in SECRET_ENV):
        return []
    return [
        {
            "type": "promptString",
            "id": VSCODE_TOKEN_INPUT,
            "description": "NemoVideo API token (nemovideo.com > Settings > API Tokens)",
            "password": True,
        }
    ]


def servers_key(client: str) -> str:
    return "servers" if client == "vscode" else "mcpServers"


def snippet(plan: Plan) -> dict[str, Any]:
    """What --dry-run prints: a minimal file holding just this server."""
    doc: dict[str, Any] = {}
    inputs = vscode_inputs(plan) if plan.client == "vscode" else []
    if inputs:
        doc["inputs"] = inputs
    doc[servers_key(plan.client)] = {plan.name: server_entry(plan)}
    return doc


def claude_code_command(plan: Plan, scope: str) -> str:
    parts = ["claude", "mcp", "add", plan.name, "--scope", scope]
    for key, value in plan.env.items():
        parts += ["-e", f"{key}={value}"]
    parts += ["--", plan.launch.command, *plan.launch.args]
    if plan.platform == "win32":
        return subprocess.list2cmdline(parts)
    return shlex.join(parts)


# --- reading, merging and writing the host's file ---------------------------------------------------------


def load_config(path: Path, plan: Plan) -> dict[str, Any]:
    if not path.exists():
        return {}
    if not path.is_file():
        raise InstallError(f"{path} is not a file. Nothing was changed.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"Cannot read {path}: {exc}. Nothing was changed.") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstallError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}"
            f"{'; comments are not supported' if '//' in text or '/*' in text else ''}). "
            "It was left untouched. Fix the file, or add this entry to it by hand:\n"
            + json.dumps(snippet(plan), indent=2, ensure_ascii=False)
        ) from None
    if not isinstance(data, dict):
        raise InstallError(f"{path} does not hold a JSON object at the top level. Nothing was changed.")
    return data


def merge(data: dict[str, Any], plan: Plan, path: Path) -> dict[str, Any]:
    """A copy of `data` with this server's entry added or replaced; everything else untouched."""
    merged = copy.deepcopy(data)
    key = servers_key(plan.client)
    servers = merged.setdefault(key, {})
    if not isinstance(servers, dict):
        raise InstallError(f"{path}: '{key}' is not a JSON object. Nothing was changed.")
    entry = server_entry(plan)
    previous = servers.get(plan.name)
    if isinstance(previous, dict) and isinstance(previous.get("env"), dict):
        # Keep variables the user set in our entry by hand (a token, say) unless this run sets them.
        kept = {k: v for k, v in previous["env"].items() if k not in entry.get("env", {})}
        if kept:
            entry["env"] = {**kept, **entry.get("env", {})}
    servers[plan.name] = entry
    if plan.client == "vscode":
        wanted = vscode_inputs(plan)
        if wanted:
            inputs = merged.setdefault("inputs", [])
            if not isinstance(inputs, list):
                raise InstallError(f"{path}: 'inputs' is not a JSON array. Nothing was changed.")
            ids = {w["id"] for w in wanted}
            others = [i for i in inputs if not (isinstance(i, dict) and i.get("id") in ids)]
            merged["inputs"] = others + wanted
    return merged


def backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    shutil.copy2(path, target)
    return target


def write_config(path: Path, data: dict[str, Any]) -> Path | None:
    """Write `data` to `path` atomically; back up an existing file first. Returns the backup's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = backup(path) if path.exists() else None
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if saved is not None:
            shutil.copymode(saved, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return saved


# --- command line -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nemo-mcp install",
        description="Add nemo-mcp to an MCP host's configuration (merged into its file, backed up first).",
    )
    p.add_argument("--client", required=True, choices=CLIENTS, help="the MCP host to configure")
    p.add_argument("--dry-run", action="store_true", help="print the entry as JSON; write nothing")
    p.add_argument(
        "--config", type=Path, default=None, help="the host's config file (default: its usual one)"
    )
    p.add_argument("--name", default=DEFAULT_NAME, help=f"the server's name (default {DEFAULT_NAME})")
    p.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default="auto",
        help="auto (default): uvx if it is on PATH, else this Python's nemo-mcp script; or uvx, pipx, script",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="environment for the server: --env NEMO_TOKEN (copied from here) or --env NEMO_TOKEN=nmv_...",
    )
    p.add_argument(
        "--media-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder upload_media may read from (repeatable; sets NEMO_MEDIA_DIRS)",
    )
    p.add_argument("--download-dir", default=None, metavar="DIR", help="exports go here (NEMO_DOWNLOAD_DIR)")
    p.add_argument(
        "--backend",
        choices=("cloud", "local"),
        default=None,
        help="local: the embedded offline backend (installs nemo-mcp[local])",
    )
    p.add_argument(
        "--scope",
        choices=("local", "project", "user"),
        default="user",
        help="claude-code only: the scope of `claude mcp add` (default user)",
    )
    p.add_argument("--platform", default=sys.platform, help=argparse.SUPPRESS)
    return p


def _display(launch: Launch) -> str:
    return shlex.join([launch.command, *launch.args])


def run(args: argparse.Namespace) -> int:
    if not args.name.strip():
        raise InstallError("--name must not be empty.")
    platform = normalize_platform(args.platform)
    env = build_env(args.env, args.media_dir, args.download_dir, platform)
    launch = resolve_launch(args.launcher, platform, args.backend)
    plan = Plan(client=args.client, name=args.name, launch=launch, env=env, platform=platform)
    if launch.note:
        print(f"nemo-mcp install: warning: {launch.note}", file=sys.stderr)

    if plan.client == "claude-code":
        print(claude_code_command(plan, args.scope))
        print(
            "Run this to add nemo-mcp to Claude Code, then check it with `claude mcp list`.", file=sys.stderr
        )
        return 0

    path = args.config if args.config is not None else default_config_path(plan.client, platform)
    path = path.expanduser()
    title = CLIENT_TITLES[plan.client]
    if args.dry_run:
        print(f"# {title}: merge this into {path} (dry run: nothing written)", file=sys.stderr)
        print(json.dumps(snippet(plan), indent=2, ensure_ascii=False))
        return 0

    current = load_config(path, plan)
    merged = merge(current, plan, path)
    if merged == current:
        print(f"{title}: {path} already has this '{plan.name}' entry; nothing changed.")
        return 0
    saved = write_config(path, merged)
    action = "updated" if plan.name in current.get(servers_key(plan.client), {}) else "added"
    print(f"{title}: {action} the '{plan.name}' server in {path}")
    if saved is not None:
        print(f"  previous file backed up to {saved}")
    print(f"  command: {_display(launch)}")
    if env:
        shown = ", ".join(f"{k}=***" if k in SECRET_ENV else f"{k}={v}" for k, v in env.items())
        print(f"  env: {shown}")
    print(RESTART_HINT[plan.client])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return run(args)
    except InstallError as exc:
        print(f"nemo-mcp install: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"nemo-mcp install: {exc}. Nothing else was changed.", file=sys.stderr)
        return 1
