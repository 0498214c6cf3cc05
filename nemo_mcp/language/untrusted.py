"""Backend text is untrusted: cleaned before anything reads it, and never obeyed.

`clean(text)` returns the text a model may read as the agent's quoted reply:

- terminal escape sequences (ANSI colours, cursor moves, OSC hyperlinks and titles, 8-bit CSI) are removed,
  and text the terminal would hide (`ESC[8m` … `ESC[28m`) goes with them;
- control characters, bidi overrides and isolates, zero-width characters and the BOM are removed; a span
  written right-to-left by an override (`U+202E … U+202C`, or to the end of its word) goes too, since it
  shows something other than what it says;
- line breaks are kept, and every kind of line separator (CR, CRLF, U+2028/2029, NEL) becomes one, so
  "Done!<U+2028>SYSTEM: …" cannot glue an instruction onto the reply;
- tool-call and chat-template markup (`<tool_call>`, `<function_calls>`, `<invoke>`, ```` ```tool_code ````,
  `<|im_start|>`, `<system>`) is removed with what it carries, and so are lines that pretend to speak for
  another role ("SYSTEM: …", "Assistant: …", "User: …");
- `javascript:`, `file:`, `data:` and `vbscript:` links are removed with their label.

What was removed is reported (kinds, not content), so the caller can say so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

_CONCEALED = re.compile(r"\x1b\[[0-9;]*8m.*?(?:\x1b\[[0-9;]*28m|\x1b\[0?m|$)", re.DOTALL)
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (hyperlinks, window titles)
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[@-_]?"  # anything else that starts with ESC
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_OVERRIDE_SPAN = re.compile(r"[\u202e\u202d][^\u202c\n]*\u202c|[\u202e\u202d]\S*")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c\u00ad\u180e]")
# A fenced block that carries a call or a document ("```tool_code", "```json {...}"): an agent reply is prose.
_FENCED_TOOL = re.compile(
    r"```[ \t]*(?:tool_code|tool_call|tool|function|python_tool|json|python|js|javascript|bash|sh|xml|"
    r"yaml)?[^\n]*\n"
    r"(?=[^`]*(?:[{(]|\w+\s*=))[^`]*?(?:```|$)",
    re.IGNORECASE,
)
_MARKUP = re.compile(
    r"<(tool_call|tool_calls|function_calls|function_call|invoke|tool_use|tool_result|system|assistant|user|"
    r"developer|instructions?)\b[^>]*>.*?</\1\s*>"
    r"|<\|im_start\|>.*?(?:<\|im_end\|>|$)"
    r"|<\|start_header_id\|>.*?(?:<\|eot_id\|>|$)"  # Llama 3
    r"|\[INST\].*?\[/INST\]|<<SYS>>.*?<</SYS>>"  # Llama 2
    r"|<\|[a-z_]+\|>|</?s>"
    r"|</?(?:tool_call|tool_calls|function_calls|function_call|invoke|parameter|tool_use|tool_result|system|"
    r"assistant|user|developer|instructions?)\b[^>]*>",
    re.DOTALL | re.IGNORECASE,
)
_ROLE_LINE = re.compile(
    r"(?:(?<=^)|(?<=[.!?。！？]))[ \t]*(?:system|assistant|user|human|developer|tool|model|"
    r"系统|助手|用户|开发者|"
    r"管理员|admin|administrator|operator)[ \t]*[:：].*$",
    re.IGNORECASE | re.MULTILINE,
)
_ANCHOR = re.compile(
    r"<a\b[^>]*href\s*=\s*[\"']?\s*(?:javascript|vbscript|data|file):[^>]*>(?P<label>.*?)</a\s*>"
    r"|<a\b[^>]*>(?P<safe>.*?)</a\s*>|</?(?:a|span|div|p|br|b|i|em|strong|font|img|script|iframe|"
    r"style)\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
_BAD_LINK = re.compile(
    r"\[(?P<label>[^\]\n]{0,200})\]\(\s*(?:javascript|file|data|vbscript):(?:[^()\s]|\([^()]*\))*\)"
    r"|(?:javascript|vbscript|data):\S+|file:/+\S*",
    re.IGNORECASE,
)


@dataclass
class Cleaned:
    text: str
    removed: list[str] = field(default_factory=list)  # kinds of things removed, each once
    link_labels: list[str] = field(default_factory=list)  # what the removed unsafe links said


def _controls(text: str) -> str:
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs")
    )


def clean(text: str) -> Cleaned:
    out = Cleaned(text)
    steps: list[tuple[str, Callable[[str], str]]] = [
        ("hidden terminal text", lambda s: _CONCEALED.sub("", s)),
        ("terminal escape sequences", lambda s: _ESCAPES.sub("", s)),
        ("", lambda s: _LINE_BREAKS.sub("\n", s)),
        ("right-to-left override text", lambda s: _OVERRIDE_SPAN.sub("", s)),
        ("invisible characters", lambda s: _INVISIBLE.sub("", s)),
        ("control characters", _controls),
        ("tool-call markup", lambda s: _FENCED_TOOL.sub("", s)),
        ("tool-call markup", lambda s: _MARKUP.sub("", s)),
        ("lines speaking for another role", lambda s: _ROLE_LINE.sub("", s)),
        ("unsafe links", lambda s: _BAD_LINK.sub("", s)),
        ("HTML markup", lambda s: _ANCHOR.sub(lambda m: m.group("safe") or "", s)),
    ]
    out.link_labels = [m.group("label") for m in _BAD_LINK.finditer(text) if m.group("label")]
    out.link_labels += [m.group("label") for m in _ANCHOR.finditer(text) if m.group("label")]
    current = text
    for kind, step in steps:
        after = step(current)
        if after != current and kind and kind not in out.removed:
            out.removed.append(kind)
        current = after
    current = re.sub(r"[ \t]+\n", "\n", current)
    current = re.sub(r"\n{3,}", "\n\n", current)
    out.text = re.sub(r"[ \t]{2,}", " ", current).strip()
    return out
