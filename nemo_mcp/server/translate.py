"""GUI-speak translation (docs/skill.md "Backend Response Translation").

The backend agent assumes a GUI exists. There is none here, so its GUI instructions are turned into what
this server does instead:

| Backend says                   | We do                                   | `GuiAction`     |
|--------------------------------|-----------------------------------------|-----------------|
| "click [button]" / "点击"       | already done through the API            | `API_DONE`      |
| "open [panel]" / "打开"         | show the project state                  | `SHOW_STATE`    |
| "drag/drop" / "拖拽"            | describe the change; sent as an edit    | `EDIT_VIA_SSE`  |
| "preview in timeline"          | show the track summary                  | `SHOW_SUMMARY`  |
| "Export button" / "导出"        | the export workflow (`export_video`)    | `EXPORT`        |

Content descriptions are kept and only the GUI clauses are stripped. A trailing "I encountered a temporary
issue" after a normal reply is backend noise and is dropped (docs/nemo-api.md §1.13).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class GuiAction(StrEnum):
    API_DONE = "api_done"
    SHOW_STATE = "show_state"
    EDIT_VIA_SSE = "edit_via_sse"
    SHOW_SUMMARY = "show_summary"
    EXPORT = "export"


@dataclass(frozen=True)
class Translation:
    text: str
    actions: list[GuiAction] = field(default_factory=list)
    # The clauses that were removed (for logs and tests).
    removed: list[str] = field(default_factory=list)
    dropped_trailing_issue: bool = False


# Order matters: the first matching rule names the action of a clause. Export before click
# ("click the Export button" is the export workflow), preview before open.
_RULES: list[tuple[GuiAction, re.Pattern[str]]] = [
    (
        GuiAction.EXPORT,
        re.compile(
            r"\bexport\s+(?:button|panel|menu|dialog|settings)\b|\bclick(?:ing)?\s+(?:on\s+)?(?:the\s+)?[\"'“]?export\b"
            r"|\b(?:press|hit|tap|use)\s+(?:the\s+)?[\"'“]?export\b"
            r"|导出按钮|点击[“\"'「]?导出|点[“\"'「]?导出|导出面板",
            re.IGNORECASE,
        ),
    ),
    (
        GuiAction.SHOW_SUMMARY,
        re.compile(
            r"\bpreview\b[^.!?。！？]*\b(?:timeline|player|preview\s+window|canvas)\b|\b(?:in|on)\s+the\s+timeline\s+preview\b"
            r"|(?:在)?时间(?:线|轴)(?:上|中|里)?预览|预览(?:一下)?(?:效果|时间线|时间轴)",
            re.IGNORECASE,
        ),
    ),
    (
        GuiAction.EDIT_VIA_SSE,
        re.compile(
            r"\bdrag(?:ging)?\b|\bdrop\s+(?:it|them|the|your|a|into|onto|on)\b|\bdrag[- ]and[- ]drop\b"
            r"|拖拽|拖动|拖到|拖入|拖放",
            re.IGNORECASE,
        ),
    ),
    (
        GuiAction.SHOW_STATE,
        re.compile(
            r"\bopen(?:ing)?\s+(?:up\s+)?(?:the\s+|your\s+)?[\w\s\"'“”-]{0,30}?\b(?:panel|tab|sidebar|menu|window|editor|library|settings|inspector|dialog)\b"
            r"|\bgo\s+to\s+(?:the\s+)?[\w\s-]{0,20}?(?:panel|tab|sidebar)\b|打开",
            re.IGNORECASE,
        ),
    ),
    (
        GuiAction.API_DONE,
        re.compile(
            r"\b(?:click|tap)(?:ing|ed)?\b"
            r"|\b(?:press|hit|select)\s+(?:the\s+)?[\"'“]?[\w][\w\s'-]{0,30}?[\"'”]?\s+(?:button|icon|tab|toggle)\b"
            r"|点击|单击|双击|按下|点一下",
            re.IGNORECASE,
        ),
    ),
]

_TEMP_ISSUE_RE = re.compile(
    r"\s*(?:but\s+)?(?:I\s+)?(?:have\s+)?encountered\s+(?:a\s+)?temporary\s+issue[^.!?。！？]*[.!?。！？]?\s*$"
    r"|\s*(?:我)?遇到了?(?:一个)?临时(?:问题|故障)[^。！？]*[。！？]?\s*$",
    re.IGNORECASE,
)

_SENTENCE_RE = re.compile(r"(?:[^.!?。！？\n]|\.(?=\d))+(?:[.!?。！？]+|\n|$)")
_CLAUSE_SPLIT_RE = re.compile(r"(?<=[,;，；])\s*|\s+(?=(?:or|and\s+then|then|and)\s+)|(?=或者|然后|再)")
# Clauses that only lead into a GUI instruction ("you can", "to see it,") carry no content of their own.
_LEAD_IN_RE = re.compile(
    r"^\s*(?:(?:and|or|then|now|next|simply|just|please|you\s+can|you\s+may|feel\s+free\s+to|to\s+see\s+it|"
    r"to\s+download(?:\s+it)?|(?:once|when|if)\s+you(?:'?re|\s+are)\s+(?:happy|ready|done|satisfied)"
    r"(?:\s+with\s+(?:it|this|that|the\s+result))?)[\s,]*)+$"
    r"|^\s*(?:你可以|您可以|请|然后|或者|再)\s*$",
    re.IGNORECASE,
)


def _classify(clause: str) -> GuiAction | None:
    for action, pattern in _RULES:
        if pattern.search(clause):
            return action
    return None


def translate(text: str) -> Translation:
    """Strip GUI instructions from agent text; say which API action replaces each."""
    dropped_issue = False
    body = text.strip()
    m = _TEMP_ISSUE_RE.search(body)
    if m and body[: m.start()].strip():  # only a *trailing* notice after a normal reply
        body = body[: m.start()].rstrip()
        dropped_issue = True

    actions: list[GuiAction] = []
    removed: list[str] = []
    kept_sentences: list[str] = []
    for sm in _SENTENCE_RE.finditer(body):
        sentence = sm.group(0)
        if not sentence.strip():
            if sentence.endswith("\n"):
                kept_sentences.append("\n")
            continue
        clauses = [c for c in _CLAUSE_SPLIT_RE.split(sentence) if c]
        kept: list[str] = []
        sentence_actions: list[GuiAction] = []
        for clause in clauses:
            action = _classify(clause)
            if action is None:
                kept.append(clause)
            else:
                sentence_actions.append(action)
                removed.append(clause.strip())
        if not sentence_actions:
            kept_sentences.append(sentence)
            continue
        for a in sentence_actions:
            if a not in actions:
                actions.append(a)
        content = " ".join(c.strip() for c in kept).strip()
        content = re.sub(r"[\s,;，；]+$", "", content)
        content = re.sub(r"\s+(?:and|or|then)$", "", content, flags=re.IGNORECASE)
        if content and not _LEAD_IN_RE.match(content):
            end = sentence.rstrip()[-1:]
            lead = sentence[: len(sentence) - len(sentence.lstrip())]
            kept_sentences.append(lead + content + (end if end in ".!?。！？" else "."))
    out = "".join(kept_sentences)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return Translation(text=out, actions=actions, removed=removed, dropped_trailing_issue=dropped_issue)


# What the server says instead of each GUI instruction (the caller appends these after doing the action).
ACTION_NOTES: dict[GuiAction, str] = {
    GuiAction.API_DONE: "Nothing to click: the change is already applied to the project through the API.",
    GuiAction.SHOW_STATE: "No panel to open: the project state was fetched for you (timeline summary shown).",
    GuiAction.EDIT_VIA_SSE: (
        "No dragging needed: describe the move (e.g. 'move the title to 2 s') and it is sent as an edit."
    ),
    GuiAction.SHOW_SUMMARY: "",  # the summary line itself is shown
    GuiAction.EXPORT: "To export, call export_video (or say 'export'); it renders and returns the MP4 link.",
}
