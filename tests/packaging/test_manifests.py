"""The MCPB manifest and the registry server.json: versions, tool lists, user config, schema."""

from __future__ import annotations

from typing import Any

import pytest

from tests.packaging.helpers import ROOT, TOOLS, load_json, load_module, pyproject_version

MANIFEST = load_json("manifest/manifest.json")
SERVER_JSON = load_json("manifest/server.json")


async def server_tool_names() -> list[str]:
    app = pytest.importorskip(
        "nemo_mcp.server.app", reason="the MCP server (nemo_mcp.server.app) is not there"
    )
    from nemo_mcp.server.mcp_server import app_only
    from nemo_mcp.server.settings import ServerSettings

    server = app.build_server(ServerSettings(backend="local"))
    # the review player's own tools are listed only to hosts that run MCP Apps; they are not the model's
    return [t.name for t in await server.list_tools() if not app_only(t)]


@pytest.mark.anyio
async def test_manifest_tools_equal_the_server_tools() -> None:
    names = await server_tool_names()
    assert [t["name"] for t in MANIFEST["tools"]] == names
    assert set(TOOLS) <= set(names)  # the nine tools the README and SKILL.md document
    assert all(t["description"] for t in MANIFEST["tools"])


@pytest.mark.anyio
async def test_server_json_tools_equal_the_server_tools() -> None:
    meta = SERVER_JSON["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]
    assert meta["tools"] == await server_tool_names()


@pytest.mark.anyio
async def test_server_json_lists_the_prompts_and_resources() -> None:
    pytest.importorskip("nemo_mcp.server.app")
    from nemo_mcp.server.app import build_server
    from nemo_mcp.server.settings import ServerSettings

    server = build_server(ServerSettings(backend="local"))
    meta = SERVER_JSON["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]
    assert meta["prompts"] == [p.name for p in await server.list_prompts()]
    uris = [str(r.uri) for r in await server.list_resources()]
    uris += [t.uri_template for t in await server.list_resource_templates()]
    assert sorted(meta["resources"]) == sorted(uris)


def test_versions_match_the_package() -> None:
    v = pyproject_version()
    assert MANIFEST["version"] == v
    assert SERVER_JSON["version"] == v
    assert [p["version"] for p in SERVER_JSON["packages"]] == [v]


def test_manifest_shape() -> None:
    assert MANIFEST["manifest_version"] == "0.4"
    server = MANIFEST["server"]
    assert server["type"] in ("uv", "python")
    assert (ROOT / "manifest/bundle" / server["entry_point"]).is_file()
    cfg = server["mcp_config"]
    # a multi-folder setting only expands as a whole argument, never inside an env value
    assert "${user_config.media_dirs}" in cfg["args"]
    assert cfg["env"]["NEMO_TOKEN"] == "${user_config.nemo_token}"
    assert cfg["env"]["NEMO_DOWNLOAD_DIR"] == "${user_config.download_dir}"
    assert cfg["env"]["PYTHONIOENCODING"] == "utf-8"
    uc: dict[str, Any] = MANIFEST["user_config"]
    assert uc["nemo_token"]["type"] == "string"
    assert uc["nemo_token"]["sensitive"] is True
    assert uc["media_dirs"]["type"] == "directory"
    assert uc["media_dirs"]["multiple"] is True
    assert uc["download_dir"]["type"] == "directory"
    for key, option in uc.items():
        assert {"type", "title", "description"} <= option.keys(), key
        assert "default" in option, f"{key}: without a default an unset value reaches the server as text"


def test_server_json_is_valid_for_the_registry() -> None:
    checker = load_module(".ci/check_server_json.py", "check_server_json")
    assert checker.check(ROOT) == []


def test_server_json_check_catches_mistakes(tmp_path: Any) -> None:
    import json
    import shutil

    checker = load_module(".ci/check_server_json.py", "check_server_json")
    for rel in ("manifest/schema", "pyproject.toml", "README.md"):
        src = ROOT / rel
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / rel)
    bad = json.loads(json.dumps(SERVER_JSON))
    pkg = bad["packages"][0]
    pkg["runtime_hint"] = pkg.pop("runtimeHint")
    pkg["version"] = "latest"
    pkg["environmentVariables"][0]["isSecret"] = False
    bad["description"] = "x" * 101
    (tmp_path / "manifest/server.json").write_text(json.dumps(bad))
    problems = "\n".join(checker.check(tmp_path))
    assert "runtime_hint" in problems
    assert "latest" in problems or "version" in problems
    assert "isSecret" in problems
    assert "description" in problems


def test_bundle_launcher_turns_settings_into_env() -> None:
    launcher = load_module("manifest/bundle/server/main.py", "bundle_main")
    env = {"NEMO_TOKEN": "${user_config.nemo_token}", "NEMO_DOWNLOAD_DIR": "", "HOME": "/h"}
    args = launcher.prepare(["--media-dirs", "/a", "/b c"], env)
    assert args == []
    assert env == {"HOME": "/h", "NEMO_MEDIA_DIRS": f"/a{launcher.os.pathsep}/b c"}

    env = {"NEMO_TOKEN": "nmv_usr_x", "NEMO_DOWNLOAD_DIR": "/d"}
    assert launcher.prepare(["--backend", "local", "--media-dirs"], env) == ["--backend", "local"]
    assert env == {"NEMO_TOKEN": "nmv_usr_x", "NEMO_DOWNLOAD_DIR": "/d"}

    env = {}
    assert launcher.prepare(["--media-dirs", "${user_config.media_dirs}"], env) == []
    assert env == {}
