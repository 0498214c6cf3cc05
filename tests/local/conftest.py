"""Media files shared by the local-backend tests (generated once per run with FFmpeg)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import make_audio, make_image, make_video


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "clip": make_video(folder / "clip.mp4", 4, 320, 180),
        "clip2": make_video(folder / "second.mp4", 2, 320, 180, audio=False),
        "portrait": make_video(folder / "portrait.mp4", 2, 180, 320),
        "audio": make_audio(folder / "music.m4a", 3),
        "image": make_image(folder / "still.png"),
    }
