"""The built wheel on its own: SKILL.md inside it, and `nemo-mcp demo` working from the installed copy."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.packaging.helpers import ROOT, pyproject_version

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
PROBE = """
import sys
import nemo_mcp
from nemo_mcp.api.config import _skill_md_text, read_attribution
print(nemo_mcp.__file__)
print(_skill_md_text()[1])
print(read_attribution())
from nemo_mcp.cli import main
main(["demo", "--out", sys.argv[1], "--seconds", "3"])
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=180,
        capture_output=True,
    )
    (whl,) = out.glob("nemo_mcp-*.whl")
    return whl


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "nemo_mcp/SKILL.md" in names
        assert z.read("nemo_mcp/SKILL.md") == (ROOT / "SKILL.md").read_bytes()
        for module in ("cli.py", "install.py", "server/app.py", "api/__init__.py", "local/__init__.py"):
            assert f"nemo_mcp/{module}" in names, module
        assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert f"Version: {pyproject_version()}" in metadata
    assert "mcp-name: io.github.nemo-mcp/nemo-mcp" in metadata  # README is the long description
    assert "nemo-mcp = nemo_mcp.cli:main" in entry_points


@pytest.mark.slow
def test_installed_wheel_finds_its_skill_md_and_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "SKILL_"))}
    env.update(PYTHONPATH=str(site), XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(run_dir / "out")],
        cwd=run_dir,  # not the source tree: only the installed copy can be found
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    module_file, skill_file, attribution = done.stdout.splitlines()[:3]
    assert Path(module_file).is_relative_to(site)
    assert Path(skill_file) == site / "nemo_mcp" / "SKILL.md"
    assert f"source='from-video-openapi', version='{pyproject_version()}'" in attribution
    assert list((run_dir / "out").glob("*.mp4")), done.stdout[-2000:]
