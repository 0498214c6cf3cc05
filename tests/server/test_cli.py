"""CLI parsing and settings (the transports themselves are exercised in test_transports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.server.cli import build_parser
from nemo_mcp.server.http_security import HttpOptions, transport_security
from nemo_mcp.server.settings import ServerSettings


def test_defaults_are_stdio_on_loopback() -> None:
    args = build_parser().parse_args([])
    assert args.transport == "stdio"
    assert args.host == "127.0.0.1"
    assert args.port == 8000
    assert args.backend is None


def test_http_options() -> None:
    args = build_parser().parse_args(
        ["--transport", "http", "--port", "9001", "--backend", "local", "--allowed-host", "mcp.example.com"]
    )
    assert (args.transport, args.port, args.backend) == ("http", 9001, "local")
    sec = transport_security(HttpOptions(host="127.0.0.1", port=9001, allowed_hosts=args.allowed_host))
    assert sec.enable_dns_rebinding_protection
    assert "127.0.0.1:9001" in sec.allowed_hosts
    assert "mcp.example.com" in sec.allowed_hosts
    assert "http://localhost:9001" in sec.allowed_origins


def test_bad_transport_is_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--transport", "sse"])


def test_settings_from_env(tmp_path: Path) -> None:
    s = ServerSettings.from_env(
        {
            "NEMO_API_URL": "local",
            "XDG_CONFIG_HOME": str(tmp_path),
            "NEMO_DOWNLOAD_DIR": str(tmp_path / "dl"),
            "NEMO_MEDIA_DIRS": str(tmp_path / "a") + ":" + str(tmp_path / "b"),
        }
    )
    assert s.backend == "local"
    assert s.api_url is None
    assert s.server_key == "local"
    assert s.config_dir == tmp_path / "nemovideo"
    assert s.download_root == tmp_path / "dl"
    assert len(s.media_dirs) == 2
    cloud = ServerSettings.from_env({"NEMO_API_URL": "https://api.example.com/"})
    assert cloud.backend == "cloud"
    assert cloud.server_key == "https://api.example.com"


def test_local_backend_without_ffmpeg_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nemo_mcp.local.media as media
    from nemo_mcp.server.cli import main

    def missing() -> str:
        raise media.FFmpegMissing("FFmpeg not found")

    monkeypatch.setattr(media, "ffmpeg_exe", missing)
    assert main(["--backend", "local"]) == 2
    err = capsys.readouterr().err
    assert "needs FFmpeg" in err
    assert "nemo-mcp[local]" in err
