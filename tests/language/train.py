"""Rebuild the guessing model (nemo_mcp/language/data/intent_model.json.gz) from the corpora:
`python -m tests.language.train`. The label of an instruction is its first step after any upload (a bare
upload is "upload")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nemo_mcp.language import guess
from tests.language.scoring import instruction_files, label_steps, load

MODEL_PATH = Path(guess.__file__).parent / guess.MODEL_FILE


def first_step(item: dict[str, Any]) -> str:
    rest = [step for step in label_steps(item) if step != "upload"]
    return rest[0] if rest else "upload"


def examples(files: list[str] | None = None) -> list[tuple[str, str]]:
    return [(i["text"], first_step(i)) for name in (files or instruction_files()) for i in load(name)]


def build(files: list[str] | None = None) -> bytes:
    return guess.save(guess.train(examples(files)))


if __name__ == "__main__":
    data = build()
    MODEL_PATH.write_bytes(data)
    print(f"{MODEL_PATH}: {len(data)} bytes")
