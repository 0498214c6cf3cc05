"""Floors over the hand-written corpora (tests/language/corpora/README.md says how they were written):
routing at least 97% overall and every clear edit reaching the agent; GUI-speak translated at least 95%;
plain replies intact, all of them."""

from __future__ import annotations

import pytest

from tests.language.scoring import instruction_files, load, reply_files, score_replies, score_routing


def test_the_corpora_are_big_and_bilingual() -> None:
    instructions = [i for name in instruction_files() for i in load(name)]
    replies = [r for name in reply_files() for r in load(name)]
    assert len(load("instructions.jsonl")) >= 400
    assert len(load("replies.jsonl")) >= 200
    for items in (instructions, replies):
        chinese = sum(1 for i in items if i.get("lang") in ("zh", "mixed"))
        assert chinese >= 0.4 * len(items)


@pytest.mark.parametrize("name", instruction_files())
def test_routing_floor(name: str) -> None:
    s = score_routing(load(name))
    misses = "\n".join(f"{text!r}: got {got}, want {want}" for text, got, want in s.misses)
    assert s.accuracy >= 0.97, misses
    assert s.edits_safe == 1.0, misses  # a clear edit is never handled locally


@pytest.mark.parametrize("name", reply_files())
def test_translation_floor(name: str) -> None:
    s = score_replies(load(name))
    misses = "\n".join(f"[{kind}] {text[:120]!r}: {problems}" for kind, text, problems in s.misses)
    assert s.translated >= 0.95, misses
    assert s.intact == 1.0, misses
