"""Prompts: the skill's three workflows (quick edit, batch, iterative refinement)."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer


def register(mcp: MCPServer[Any]) -> None:
    @mcp.prompt(name="quick_edit", title="Quick edit", description="Upload one clip, edit it, export an MP4.")
    def quick_edit(
        file: str, goal: str = "extract metadata, generate a summary, and export a trimmed clip"
    ) -> str:
        return (
            f"Use the nemo-mcp tools to edit my video.\n1. upload_media(sources=[{file!r}]).\n"
            f"2. edit_video(instruction={goal!r}). If it returns status 'running', call get_job with the "
            "job_id until it is done; never resend the instruction.\n3. get_timeline to check the result.\n"
            "4. export_video(download=true) and give me the URL and where the file was saved."
        )

    @mcp.prompt(name="batch_edit", title="Batch of files", description="Process several files one by one.")
    def batch_edit(files: str, instruction: str) -> str:
        return (
            "Process each of these files separately with nemo-mcp (comma-separated): "
            f"{files}\nFor each file: new_project(title=<file name>), upload_media([file]), "
            f"edit_video({instruction!r}) (wait with get_job while 'running'), "
            "then export_video(download=true). "
            "Each file gets its own project and render. Finish with a table: file, URL, local path."
        )

    @mcp.prompt(
        name="iterative_refine", title="Iterative refinement", description="Rough cut first, then refine."
    )
    def iterative_refine(goal: str) -> str:
        return (
            f"Goal: {goal}\nWork iteratively with nemo-mcp: start with a rough cut via edit_video, then "
            "get_timeline and describe what is on it. Propose 2-3 concrete refinements (timing, titles, "
            "music volume), apply the one I pick with edit_video, and repeat. Export only when I say so."
        )
