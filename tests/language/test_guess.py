"""The second reader (nemo_mcp.language.guess): the shipped model is the one the corpora train, it is asked
only when the rules found nothing, and it never takes an edit from the agent."""

from __future__ import annotations

import pytest

from nemo_mcp.language.guess import guess
from nemo_mcp.language.routing import Intent, route
from tests.language.train import MODEL_PATH, build


def test_the_shipped_model_is_what_the_corpora_train() -> None:
    assert MODEL_PATH.read_bytes() == build(), "run `python -m tests.language.train` and commit the model"


@pytest.mark.parametrize(
    ("instruction", "label"),
    [
        ("whats the runtime rn", "status"),
        ("AirDrop 到我的 iPhone 就行", "export"),
        ("am I out?", "credits"),
    ],
)
def test_it_reads_words_the_rules_need_not_know(instruction: str, label: str) -> None:
    assert guess(instruction)[0] == label


@pytest.mark.parametrize(
    "instruction",
    [
        "add rolling credits at the end",
        "balance the audio levels",
        "put a status bar overlay at the top",
        "加个上传进度条的动画效果",
        "redact every mention of the SSN",
    ],
)
def test_an_edit_the_rules_found_is_never_overruled(instruction: str) -> None:
    assert route(instruction).steps == (Intent.AGENT,)


@pytest.mark.parametrize("instruction", ["ok", "啊这", "？？", "嗯 算了"])
def test_too_few_words_go_to_the_agent(instruction: str) -> None:
    assert route(instruction).steps == (Intent.AGENT,)
