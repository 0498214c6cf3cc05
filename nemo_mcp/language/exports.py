"""Whether a clause asks for the finished file, in any words: `export_request(text, edit)`.

English: an export verb with the video as its object, a giving verb with a deliverable ("send me the
lecture when it's ready"), the bare forms ("ok send", "mp4 please"), something ready to post, the finished
video put somewhere ("drop the final cut into the client folder"), a device or an app as the destination
("stick the final on my thumb drive"), the keyboard slip "expert it". Chinese: an export word (导出, 出片)
not taken by another output, the file handed over in any order (给我, 发我, 俾條片我, 成片丢我邮箱), a
device (发到我手机). A destination path («dest») asks for the file by itself; an export word after an
editing verb belongs to the edit.
"""

from __future__ import annotations

import re

from nemo_mcp.language.content import keywords
from nemo_mcp.language.deliverables import after_deliverable, deliverable_at, object_is_video
from nemo_mcp.language.edits import ZH_CONDITION, Edit
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.normalize import has_cjk

_ZH_FILE = r"(?:成片|成品|视频文件|视频|文件|档案|档|mp4|链接|片子|条片|影片|最终版|最终稿|终版|final|file)"
_ZH_GIVE = re.compile(
    rf"(?<![上导])(?:给\s*我|(?:发|传|甩|丢|send|拿)\s*我?)\s*(?:个|条|份|支|一个|一份|一支|一下)?\s*{_ZH_FILE}"
    rf"|{_ZH_FILE}\s*(?:给|发|传|甩|丢|send)\s*(?:给)?\s*我"
    rf"|给\s*(?:条|个|份|支)?\s*{_ZH_FILE}\s*我"  # Cantonese order: 俾條片我
    rf"|{_ZH_FILE}\s*拿来(?!用|做|当)"  # "最终稿拿来"
    r"|^(?:先|直接|马上|现在|就)?\s*(?:渲染|导出|出片|汇出)\s*(?:吧|一下|了|啦)?$"  # "先渲染"
    r"|^导\s*(?:个|一个|一版|一支)?\s*(?:4k|1080p?|720p?|高清|mp4)"  # "导 4k"
    r"|(?:那|这)\s*(?:支|条|个|份)[^，。,]{0,8}?(?:可以)?给我"  # "喜宴那支可以给我了吗"
    # "给我一个可以直接传 YouTube 的档案"
    rf"|给我\s*(?:一|两)?\s*(?:个|份|支|条)[^，。,]{{0,16}}?的?\s*{_ZH_FILE}"
    # "把成片弄出来", "文件吐出来", "视频文件发过来", "把视频给我"
    rf"|{_ZH_FILE}\s*(?:弄|搞|导|拿|吐|交|发|传|拷|存|send)\s*(?:出来|过来|给我|上来|下来)"
    rf"|把\s*(?:这个|这条|整个|那个|最终的?|做好的|剪好的)?\s*{_ZH_FILE}\s*(?:给|发|传|交)(?:给)?我"
    # "把三条切片都给我": what was made, handed over (给我 ends the clause: not "把 logo 给我去掉")
    r"|把[^，。,]{1,10}?(?:都|全)?(?:给|发|传|交)(?:给)?我\s*(?:吧|啦|哈|呀|哦)?$"
    # "全部给我", "都发我": all of it, handed over
    r"|^(?:那就|就|那)?\s*(?:全部|都|统统|全都|所有的?)\s*(?:发|给|传)(?:给)?我"
    # "出 file", "出个 mp4"
    r"|(?<![a-z])出\s*(?:个|条|份|支)?\s*(?:file|mp4|成片|成品)"
    # "出一支 4K 给我", "导一个竖屏的给我", "传一份到我手机", "整理一支完整档给他们"
    r"|(?:出|导|传|发|整理|弄)\s*(?:一|两|三|几)?\s*(?:支|份|个|条|版)[^，。,]{0,12}?(?:给(?:我|他们|她|他)|到我|发我)"
    r"|(?:给我|发我)\s*(?:导|出|传)\s*(?:一|两|三)?\s*(?:支|份|个|条|版)"
    # "发到我手机上", "发我微信", "AirDrop 到我的 iPhone", "发我邮箱"
    r"|(?:发|传|送|存|airdrop|拷)\s*(?:到|去|进|给)?\s*我?[^，。,]{0,5}?的?\s*(?:手机|iphone|ipad|电脑|微信|邮箱|line|whatsapp|"
    r"相册|u盘|硬盘|网盘|云盘|随身碟)"
)


_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")  # emoji: "mp4 please 🙏"


# "put the finished tour in my listings share", "drop the final cut into the client folder"
_PLACE_FINISHED = re.compile(
    r"\b(?:put|place|drop|save|copy|move|stick|store)\s+(?:the|my|our|this|that)\s+(?:finished|final|"
    r"completed|"
    r"exported|rendered|edited)\s+\w+(?:\s+\w+)?\s+(?:in|into|on|onto|to)\b"
)
# "dont expert it yet", "can u expert the Hoi An one": the keyboard slip for export, with its object
_EXPERT_SLIP = re.compile(
    r"(?:\b(?:can|could|pls|please|dont|don't|do not|u|you)\s+)expert\s+(?:it|the|this|that|my|them)\b"
)
# "ok send", "Final. Send.", "gimme", "then files", "ship it"
_BARE_SEND = re.compile(
    r"(?:(?:ok|okay|yes|yep|yeah|final|then|now|just|so|its perfect|it's perfect|perfect|great|good|done|"
    r"alright)"
    r"[\s,.!]+)*(?:send|send it|send it over|send over|send both|send them|send all|ship|ship it|gimme|"
    r"give me|"
    r"files|the files|hand it over|exp|exp after|exp \d+p|export after)"
    r"(?:\s+(?:now|please|pls|plz|it|over|thx|thanks))*"
)
# "just need something ready to post by noon", "give me one I can upload to YouTube"
_READY_TO_POST = re.compile(
    r"\b(?:need|want|give me|send me|get me|have)\s+(?:\w+\s+){0,3}?(?:ready|good) to (?:post|upload|share|"
    r"publish|"
    r"go|send|air|put up)\b|\b(?:one|a file|a version|something) (?:i|we) can (?:post|upload|put up|share)\b"
)
# "然后可以出了", "可以导了", "出吧"
_CAN_OUTPUT_ZH = re.compile(r"(?:可以|能|就)(?:出|导|发)了\s*[吧啊呀哈]?\s*$|^出吧")
# "send me the lecture when it's ready": the video, named by what it is
_SEND_ME_THE = re.compile(
    r"\b(?:send|give|hand|pass|shoot|get|email|mail|airdrop|text)\s+(?:me|us)\s+(?:the|my|our|that|this|"
    r"both|all)\s+"
    r"(?:\w+\s+){0,2}?(?P<what>lecture|lectures|tour|tours|recap|promo|ad|reel|reels|highlights?|trailer|"
    r"teaser|"
    r"vlog|montage|slideshow|episode|ep|walkthrough|interview|video|videos|film|clip|clips|cut|cuts|edit|"
    r"version|versions|files?|mp4s?|thing|one|ones)\b"
)


def export_request(text: str, edit: Edit) -> re.Match[str] | None:
    """Where `text` asks for the finished file, or None."""
    dest = re.search("«dest»", text)
    if dest:
        return dest
    hits: list[re.Match[str]] = []
    for m in keywords(_w("export", "verbs_en"), text):
        if object_is_video(text, m):
            hits.append(m)
    if has_cjk(text):
        for m in keywords(_w("export", "zh"), text):
            if text[m.end() : m.end() + 2].startswith(("前", "之前")):
                continue  # "下载前先确认一下": before the download, a condition
            if not _w("export", "other_outputs").any(text[m.end() : m.end() + 8]):
                hits.append(m)
        zh_edit_after = [
            e for e in _w("edit", "verbs_zh").find(text) if not ZH_CONDITION.match(text, e.start())
        ]
        bare = re.search(r"(?:发我|发给我|传我|传给我|甩我|丢我|丢给我|给我)\s*(?:吧|啦|哈|呀|哦)?\s*$", text)
        other = _w("export", "other_outputs").any(text)
        if bare and not other and not (bare.group(0).startswith("给我") and zh_edit_after):
            hits.append(bare)  # "做完直接发我": the result, sent
        for m in _ZH_GIVE.finditer(text):
            if not other and not any(e.start() >= m.end() for e in zh_edit_after):
                hits.append(m)  # "给条片我", "成片丢我邮箱", "send 我个 mp4"
        for m in _w("export", "give_zh").find(text):
            if m.group(0) == "要" and text[m.end() : m.end() + 1] in "用加剪放做改换拿":
                continue  # "影片都要用": to be used in the edit
            window = text[max(0, m.start() - 10) : m.end() + 10]
            if (
                _w("export", "deliverables_zh").any(window)
                and not any(e.start() > m.end() for e in zh_edit_after)
                and not _w("export", "other_outputs").any(window)
            ):
                hits.append(m)
        hits += _w("export", "generate_final_zh").find(text)
    for m in _w("export", "give_en").find(text):
        before = text[: m.start()]
        if m.group(0) in ("need", "want", "needs", "wants") and re.search(
            r"\b(?!i\b|we\b)(?:they|he|she|[a-z]+s)\s+$", before
        ):
            continue  # "the students need it by Thursday": a deadline, not a request
        if (
            m.group(0) in ("have", "get", "keep")
            and re.search(r"\b(?:i|we|i'?ve|we'?ve)\s+(?:already\s+|just\s+|also\s+)?$", before)
            and not re.search(r"\b(?:can|could|may|might|would|will|shall|let|'d)\s+(?:i|we)\s+$", before)
        ):
            continue  # "I have the link to the film": what the user has, told
        end = deliverable_at(text, m.end())
        if (
            end is not None
            and after_deliverable(text[end:])
            and not _w("export", "other_outputs").any(text[m.end() : end + 20])
        ):
            hits.append(m)
    for m in _w("export", "give_it_en").find(text):
        if after_deliverable(text[m.end() :]):
            hits.append(m)
    if re.fullmatch(
        r"(?:(?:ok|okay|yes|yep|so|just|now|the|a|my|your|final|finished|then|and)\s+)*(?:mp4|mp4s|file|"
        r"final file|"
        r"final version|final cut|video file|final video|the file|master|master file|deliverables?|the goods)"
        r"(?:\s+(?:please|pls|plz|now|asap|thanks|then))*[!. ]*",
        _SYMBOLS.sub("", text).strip(),
    ):
        hits.append(re.match(r"\S+", text))  # type: ignore[arg-type]
    plain = _SYMBOLS.sub("", text).strip(" .!~")
    slip = _EXPERT_SLIP.search(text)
    if slip:
        hits.append(slip)
    if _BARE_SEND.fullmatch(plain) or _READY_TO_POST.search(text) or _CAN_OUTPUT_ZH.search(text):
        hits.append(re.match(r"\S*", text))  # type: ignore[arg-type]
    for m in _SEND_ME_THE.finditer(text):
        if not _w("export", "other_outputs").any(m.group("what")) and not _w("edit", "verbs_en").any(
            text[m.end() :]
        ):
            hits.append(m)
    placed = _PLACE_FINISHED.search(text)
    if placed:
        hits.append(placed)
    device = _w("export", "devices_en", "devices_zh").first(text)
    telling = re.match(r"(?:i have|i've|ive|i just|i already|i put|i saved|我把|我已经|已经|刚)", text)
    placing = re.search(
        r"\b(?:save|put|get|keep|copy|download|store|onto|to my|on my|watch|play|stick|place|drop|dump|"
        r"move)\b|存|保存|放|下载|看|拿到|弄到|传到|拷到",
        text,
    )
    if device and not telling and placing:
        # the placing verb is part of the request: "stick the final on my thumb drive"
        return device if not edit.before(placing.start()) else None
    live = [m for m in hits if not edit.before(m.start(), inside=m)]
    return min(live, key=lambda m: m.start()) if live else None
