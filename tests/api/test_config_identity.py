"""Configuration from env, attribution headers, language detection, and the token/client-id files."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from nemo_mcp.api import ApiConfig, ConfigError, NemoClient
from nemo_mcp.api.config import default_config_dir, detect_platform, parse_frontmatter, read_attribution
from nemo_mcp.api.identity import IdentityStore, StoredToken, parse_expiry
from nemo_mcp.api.parsing import detect_language
from nemo_mcp.store import open_store

SECRET = "nmv_usr_TOPSECRETvalue1234567890"


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "NEMO_API_URL": "http://127.0.0.1:9/",
        "NEMO_WEB_URL": "https://web.example",
        "NEMO_TOKEN": SECRET,
        "NEMO_CLIENT_ID": "client-1",
        "SKILL_SOURCE": "claude",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    cfg = ApiConfig.from_env(env=env)
    assert cfg.base_url == "http://127.0.0.1:9"
    assert cfg.web_url == "https://web.example"
    assert cfg.token == SECRET
    assert cfg.client_id == "client-1"
    assert cfg.skill_source == "claude"
    assert cfg.config_dir == tmp_path / "nemovideo"
    assert SECRET not in repr(cfg)
    assert SECRET not in str(cfg)


def test_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = ApiConfig.from_env(env={}, config_dir=tmp_path, sse_idle_timeout=1.5)
    assert cfg.base_url == "https://mega-api-prod.nemovideo.ai"
    assert cfg.web_url == "https://nemovideo.com"
    assert cfg.token is None
    assert cfg.sse_idle_timeout == 1.5
    assert cfg.sse_read_timeout >= 900
    assert cfg.max_upload_bytes == 500 * 1024 * 1024
    assert cfg.replace(max_retries=0).max_retries == 0


def test_default_config_dir(tmp_path: Path) -> None:
    assert default_config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "nemovideo"
    assert default_config_dir({}) == Path.home() / ".config" / "nemovideo"
    assert default_config_dir({"XDG_CONFIG_HOME": "relative"}) == Path.home() / ".config" / "nemovideo"


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "http://user:pw@host"])
def test_invalid_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        ApiConfig.from_env(env={"NEMO_API_URL": url})


def test_frontmatter_parser() -> None:
    text = (
        "---\nname: from-video-openapi\nversion: '1.2'\ndescription: x # c\n"
        "metadata:\n  nested: y\n---\n# Body\nname: no"
    )
    assert parse_frontmatter(text) == {"name": "from-video-openapi", "version": "1.2", "description": "x"}
    assert parse_frontmatter("no frontmatter") == {}


def test_attribution_comes_from_skill_md() -> None:
    root = Path(__file__).resolve().parents[2]
    meta = parse_frontmatter((root / "SKILL.md").read_text())
    att = read_attribution({"SKILL_SOURCE": "pytest"})
    assert att.source == meta["name"]
    assert att.version == meta["version"]
    assert att.platform == "pytest"
    assert att.headers() == {
        "X-Skill-Source": meta["name"],
        "X-Skill-Version": meta["version"],
        "X-Skill-Platform": "pytest",
    }


def test_platform_detection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    clawhub = home / ".clawhub" / "skills" / "x" / "nemo_mcp"
    cursor = home / ".cursor" / "skills" / "y" / "nemo_mcp"
    for p in (clawhub, cursor):
        p.mkdir(parents=True)
    env = {"HOME": str(home)}
    assert detect_platform(env, clawhub) == "clawhub"
    assert detect_platform(env, cursor) == "cursor"
    assert detect_platform(env, tmp_path) == "unknown"
    assert detect_platform({**env, "SKILL_SOURCE": "openclaw"}, clawhub) == "openclaw"
    assert detect_platform({"SKILL_SOURCE": "bad\nvalue"}, tmp_path) == "badvalue"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("make a city timelapse", "en"),
        ("做一个城市延时视频", "zh-CN"),
        ("動画を編集して", "ja"),
        ("東京タワー", "ja"),
        ("영상을 편집해 주세요", "ko"),
        ("", "en"),
        (None, "en"),
        ("Añade música", "en"),
    ],
)
def test_language_detection(text: str | None, lang: str) -> None:
    assert detect_language(text) == lang


def test_parse_expiry() -> None:
    assert parse_expiry("2026-03-18T00:00:00Z") == pytest.approx(1773792000.0)
    assert parse_expiry("2026-03-18T00:00:00") == pytest.approx(1773792000.0)
    assert parse_expiry(1773792000) == 1773792000.0
    assert parse_expiry(1773792000000) == 1773792000.0
    assert parse_expiry("1773792000") == 1773792000.0
    assert parse_expiry("garbage") is None
    assert parse_expiry(True) is None
    assert parse_expiry(None) is None


def test_client_id_file_is_created_once(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "nemovideo")
    first = store.client_id()
    assert store.client_id() == first
    assert (tmp_path / "nemovideo" / "client_id").read_text().strip() == first
    assert stat.S_IMODE(os.stat(tmp_path / "nemovideo").st_mode) == 0o700


def test_stored_token_validity_and_repr() -> None:
    # tokens are kept by the state store (tests/store); the record itself:
    fresh = StoredToken(SECRET, expires_at=time.time() + 3600, user_id="anon_1")
    assert fresh.valid()
    assert SECRET not in repr(fresh)
    assert not StoredToken(SECRET, expires_at=time.time() - 10).valid()
    assert not StoredToken(SECRET, expires_at=time.time() + 60).valid()  # within the expiry skew
    assert StoredToken(SECRET, expires_at=None).valid()
    assert not StoredToken("", expires_at=None).valid()


def test_unwritable_config_folder_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = IdentityStore(blocker / "nemovideo")  # a folder below a regular file cannot be created
    assert store.client_id()  # generated, just not persisted
    with pytest.raises(OSError):  # the client then keeps its token in memory (tests/store)
        open_store(blocker / "nemovideo")


async def test_client_repr_hides_the_token(tmp_path: Path) -> None:
    cfg = ApiConfig.from_env(env={"NEMO_TOKEN": SECRET}, config_dir=tmp_path)
    async with NemoClient(cfg) as api:
        assert SECRET not in repr(api)
        assert api.token_source == "env"


pytestmark = pytest.mark.anyio


def test_attribution_prefers_the_skill_md_shipped_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nemo_mcp.api import config as config_module

    (tmp_path / "SKILL.md").write_text("---\nname: wheel-skill\nversion: 9.9\n---\nbody\n")
    monkeypatch.setattr(config_module.resources, "files", lambda package: tmp_path)
    config_module._frontmatter_cached.cache_clear()
    try:
        att = read_attribution({})
        assert (att.source, att.version) == ("wheel-skill", "9.9")
    finally:
        monkeypatch.undo()
        config_module._frontmatter_cached.cache_clear()
    assert read_attribution({}).source == "from-video-openapi"  # the repo-root SKILL.md


def test_concurrent_client_id_creation_agrees(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: IdentityStore(tmp_path / "nv").client_id(), range(16)))
    assert len(set(ids)) == 1
    assert (tmp_path / "nv" / "client_id").read_text().strip() == ids[0]
    assert stat.S_IMODE(os.stat(tmp_path / "nv" / "client_id").st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "nv").iterdir()) == ["client_id"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("NEMO_TOKEN", "nmv_usr_ab cd"), ("NEMO_TOKEN", "nmv_usr_é"), ("NEMO_CLIENT_ID", "id ✓")],
)
def test_unusable_header_values_are_config_errors(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        ApiConfig.from_env(env={key: value})
    assert value not in str(info.value)
