"""`nemo-mcp install`: entries per host, merging, backups, refusal to touch a broken file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp import install
from nemo_mcp.install import Launch, Plan

UVX = "/opt/uv/bin/uvx"


@pytest.fixture
def uvx_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda name: UVX if name == "uvx" else None)


@pytest.fixture
def no_uvx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda name: None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = install.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_claude_dry_run_prints_the_entry(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "claude_desktop_config.json"
    rc, out, err = run(
        capsys, "--client", "claude", "--dry-run", "--config", str(target), "--platform", "darwin"
    )
    assert rc == 0
    assert json.loads(out) == {"mcpServers": {"nemo-mcp": {"command": UVX, "args": ["nemo-mcp"]}}}
    assert str(target) in err
    assert "dry run" in err
    assert not target.exists()


def test_dry_run_through_the_console_script(tmp_path: Path) -> None:
    """The acceptance command itself, as a user runs it."""
    script = Path(sys.executable).parent / "nemo-mcp"
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "nemo_mcp"]
    target = tmp_path / "c.json"
    done = subprocess.run(
        [*cmd, "install", "--client", "claude", "--dry-run", "--config", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcpServers"]["nemo-mcp"]
    assert Path(entry["command"]).is_absolute()
    assert Path(entry["command"]).name in (
        "uvx",
        "uvx.exe",
        "nemo-mcp",
        "nemo-mcp.exe",
        Path(sys.executable).name,
    )
    assert not target.exists()


def test_windows_entry_sets_utf8_and_uses_semicolons(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(
        capsys,
        "--client", "claude", "--dry-run", "--platform", "win32", "--config", "x.json",
        "--media-dir", "/media/a", "--media-dir", "/media/b", "--env", "NEMO_TOKEN=nmv_usr_abc",
    )  # fmt: skip
    assert rc == 0
    env = json.loads(out)["mcpServers"]["nemo-mcp"]["env"]
    assert env["PYTHONIOENCODING"] == "utf-8"
    assert env["NEMO_TOKEN"] == "nmv_usr_abc"
    assert env["NEMO_MEDIA_DIRS"].count(";") == 1


def test_merge_keeps_other_servers_and_writes_a_backup(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "claude_desktop_config.json"
    original: dict[str, Any] = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
            "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"X": "1"}},
        },
    }
    target.write_text(json.dumps(original, indent=4))
    before = target.read_text()

    rc, out, _ = run(
        capsys, "--client", "claude", "--config", str(target), "--download-dir", str(tmp_path / "dl")
    )
    assert rc == 0
    data = json.loads(target.read_text())
    assert data["globalShortcut"] == "Ctrl+Space"
    assert data["mcpServers"]["fetch"] == original["mcpServers"]["fetch"]
    assert data["mcpServers"]["git"] == original["mcpServers"]["git"]
    assert data["mcpServers"]["nemo-mcp"] == {
        "command": UVX,
        "args": ["nemo-mcp"],
        "env": {"NEMO_DOWNLOAD_DIR": str((tmp_path / "dl").resolve())},
    }
    backups = list(tmp_path.glob("claude_desktop_config.json.bak-*"))
    assert len(backups) == 1
    assert backups[0].read_text() == before
    assert "backed up" in out
    assert "added" in out

    # Running it again changes nothing and makes no second backup.
    rc, out, _ = run(
        capsys, "--client", "claude", "--config", str(target), "--download-dir", str(tmp_path / "dl")
    )
    assert rc == 0
    assert "nothing changed" in out
    assert len(list(tmp_path.glob("*.bak-*"))) == 1

    # A changed entry replaces ours in place and keeps the others.
    rc, out, _ = run(capsys, "--client", "claude", "--config", str(target), "--backend", "local")
    assert rc == 0
    assert "updated" in out
    data = json.loads(target.read_text())
    assert list(data["mcpServers"]) == ["fetch", "git", "nemo-mcp"]
    assert data["mcpServers"]["nemo-mcp"]["args"] == [
        "--from",
        "nemo-mcp[local]",
        "nemo-mcp",
        "--backend",
        "local",
    ]
    assert len(list(tmp_path.glob("*.bak-*"))) == 2


def test_new_file_is_created_without_backup(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "deep" / "er" / "mcp.json"
    rc, _, _ = run(capsys, "--client", "cursor", "--config", str(target))
    assert rc == 0
    assert json.loads(target.read_text()) == {
        "mcpServers": {"nemo-mcp": {"command": UVX, "args": ["nemo-mcp"]}}
    }
    assert not list(target.parent.glob("*.bak-*"))


def test_vscode_uses_servers_and_stdio_and_prompts_for_the_token(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / ".vscode" / "mcp.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"servers": {"other": {"type": "http", "url": "http://127.0.0.1:1/mcp"}}}))
    rc, _, _ = run(
        capsys, "--client", "vscode", "--config", str(target), "--env", "NEMO_TOKEN=nmv_usr_secret"
    )
    assert rc == 0
    text = target.read_text()
    data = json.loads(text)
    assert "mcpServers" not in data
    assert data["servers"]["other"] == {"type": "http", "url": "http://127.0.0.1:1/mcp"}
    entry = data["servers"]["nemo-mcp"]
    assert entry["type"] == "stdio"
    assert entry["command"] == UVX
    assert entry["args"] == ["nemo-mcp"]
    assert entry["env"]["NEMO_TOKEN"] == "${input:nemo-token}"
    assert data["inputs"] == [
        {
            "type": "promptString",
            "id": "nemo-token",
            "description": "NemoVideo API token (nemovideo.com > Settings > API Tokens)",
            "password": True,
        }
    ]
    assert "nmv_usr_secret" not in text  # a workspace file may be committed


def test_vscode_default_path_is_the_workspace(tmp_path: Path) -> None:
    assert install.default_config_path("vscode", "linux", {}, tmp_path / "h", tmp_path) == (
        tmp_path / ".vscode" / "mcp.json"
    )


def test_default_paths_per_platform(tmp_path: Path) -> None:
    home = tmp_path
    assert install.default_config_path("claude", "darwin", {}, home) == (
        home / "Library/Application Support/Claude/claude_desktop_config.json"
    )
    assert install.default_config_path("claude", "win32", {"APPDATA": str(home / "Roaming")}, home) == (
        home / "Roaming" / "Claude" / "claude_desktop_config.json"
    )
    assert install.default_config_path("claude", "linux", {}, home) == (
        home / ".config/Claude/claude_desktop_config.json"
    )
    assert install.default_config_path("claude", "linux", {"XDG_CONFIG_HOME": str(home / "x")}, home) == (
        home / "x/Claude/claude_desktop_config.json"
    )
    assert install.default_config_path("cursor", "win32", {}, home) == home / ".cursor" / "mcp.json"


@pytest.mark.parametrize(
    "content",
    [
        '{"mcpServers": {"fetch": {"command": "uvx",}}}',  # trailing comma
        '// my servers\n{"servers": {}}',  # JSONC comments
        "[1, 2, 3]",  # not an object
        '{"mcpServers": ["not", "an", "object"]}',
    ],
)
def test_malformed_config_is_not_overwritten(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(content)
    rc, out, err = run(capsys, "--client", "claude", "--config", str(target))
    assert rc == 1
    assert target.read_text() == content
    assert not list(tmp_path.glob("*.bak-*"))
    assert str(target) in err
    assert "Nothing was changed" in err or "left untouched" in err
    assert out == ""


def test_invalid_json_error_shows_the_entry_to_paste(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mcp.json"
    target.write_text("{oops")
    rc, _, err = run(capsys, "--client", "cursor", "--config", str(target))
    assert rc == 1
    assert "not valid JSON (line 1" in err
    assert '"nemo-mcp"' in err
    assert UVX in err


def test_empty_file_counts_as_empty_config(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mcp.json"
    target.write_text("\n")
    rc, _, _ = run(capsys, "--client", "cursor", "--config", str(target))
    assert rc == 0
    assert "nemo-mcp" in json.loads(target.read_text())["mcpServers"]


def test_claude_code_prints_the_command(uvx_on_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys, "--client", "claude-code", "--env", "NEMO_TOKEN=nmv_usr_x", "--platform", "linux"
    )
    assert rc == 0
    assert out.strip() == f"claude mcp add nemo-mcp --scope user -e NEMO_TOKEN=nmv_usr_x -- {UVX} nemo-mcp"
    assert "claude mcp list" in err


def test_env_copied_from_this_environment(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_from_env")
    rc, out, _ = run(capsys, "--client", "cursor", "--dry-run", "--config", "x", "--env", "NEMO_TOKEN")
    assert rc == 0
    assert json.loads(out)["mcpServers"]["nemo-mcp"]["env"] == {"NEMO_TOKEN": "nmv_usr_from_env"}

    monkeypatch.delenv("NEMO_TOKEN")
    rc, _, err = run(capsys, "--client", "cursor", "--dry-run", "--config", "x", "--env", "NEMO_TOKEN")
    assert rc == 1
    assert "not set" in err
    rc, _, err = run(capsys, "--client", "cursor", "--dry-run", "--config", "x", "--env", "=x")
    assert rc == 1
    assert "KEY=VALUE" in err


def test_fallback_to_this_pythons_script(no_uvx: None, tmp_path: Path) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text("")
    (bin_dir / "nemo-mcp").write_text("#!/bin/sh\n")
    launch = install.resolve_launch("auto", "linux", executable=str(python))
    assert launch == Launch(str(bin_dir / "nemo-mcp"), [])
    (bin_dir / "nemo-mcp").unlink()
    launch = install.resolve_launch("auto", "linux", executable=str(python), backend="local")
    assert launch == Launch(str(python), ["-m", "nemo_mcp", "--backend", "local"])


def test_pipx_and_missing_uvx_warnings(no_uvx: None, capsys: pytest.CaptureFixture[str]) -> None:
    launch = install.resolve_launch("pipx", "linux")
    assert launch.command == "pipx"
    assert launch.args == ["run", "nemo-mcp"]
    assert launch.note
    rc, out, err = run(capsys, "--client", "claude", "--dry-run", "--config", "x", "--launcher", "uvx")
    assert rc == 0
    assert "spawn uvx ENOENT" in err
    assert json.loads(out)["mcpServers"]["nemo-mcp"]["command"] == "uvx"


def test_written_file_keeps_permissions(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if os.name == "nt":
        pytest.skip("POSIX permissions")
    target = tmp_path / "mcp.json"
    target.write_text("{}")
    target.chmod(0o600)
    assert run(capsys, "--client", "cursor", "--config", str(target))[0] == 0
    assert target.stat().st_mode & 0o777 == 0o600


def test_plan_helpers_roundtrip() -> None:
    plan = Plan("claude", "nemo", Launch("/u/uvx", ["nemo-mcp"]), {"A": "1"}, "linux")
    merged = install.merge({"mcpServers": {"x": {}}}, plan, Path("f"))
    assert merged == {
        "mcpServers": {"x": {}, "nemo": {"command": "/u/uvx", "args": ["nemo-mcp"], "env": {"A": "1"}}}
    }
    assert shutil.which  # the module uses shutil.which by default


def test_rerun_keeps_env_added_by_hand_to_our_entry(
    uvx_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mcp.json"
    entry = {
        "command": "uvx",
        "args": ["nemo-mcp"],
        "env": {"NEMO_TOKEN": "nmv_usr_by_hand", "NEMO_DOWNLOAD_DIR": "/old"},
    }
    target.write_text(json.dumps({"mcpServers": {"nemo-mcp": entry}}))
    rc, _, _ = run(capsys, "--client", "cursor", "--config", str(target), "--download-dir", str(tmp_path))
    assert rc == 0
    new = json.loads(target.read_text())["mcpServers"]["nemo-mcp"]
    assert new["command"] == UVX
    assert new["env"] == {"NEMO_TOKEN": "nmv_usr_by_hand", "NEMO_DOWNLOAD_DIR": str(tmp_path.resolve())}


def test_empty_name_is_refused(uvx_on_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--client", "cursor", "--dry-run", "--config", "x", "--name", " ")
    assert rc == 1
    assert "--name" in err
