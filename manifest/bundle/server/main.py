"""Entry point of the nemo-mcp MCP Bundle (`server.entry_point` in manifest.json).

Claude Desktop runs `uv run --directory <bundle> server/main.py --media-dirs DIR...` (uv installs the bundled
pyproject first). This shim turns the bundle's user_config into the environment the server reads, then
starts the stdio server:

- `--media-dirs DIR...` (the `media_dirs` setting, a multi-folder picker): a list only expands into
  separate arguments, never inside an env value, so it arrives here and becomes `NEMO_MEDIA_DIRS`
  (joined with os.pathsep).
- A setting the user left unset can reach us as the literal `${user_config.x}`, or as an empty string;
  both mean "not set", so such values are dropped instead of being taken as a token or a folder.

Nothing is printed on stdout: that is the MCP wire.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence

FLAG = "--media-dirs"
ENV_KEYS = ("NEMO_TOKEN", "NEMO_DOWNLOAD_DIR", "NEMO_MEDIA_DIRS", "NEMO_API_URL", "NEMO_WEB_URL")


def unset(value: str) -> bool:
    v = value.strip()
    return not v or "${" in v


def prepare(argv: Sequence[str], env: MutableMapping[str, str]) -> list[str]:
    """Apply the bundle settings to `env`; return the arguments left for `nemo-mcp`."""
    args = list(argv)
    dirs: list[str] = []
    if FLAG in args:
        i = args.index(FLAG)
        dirs = [d for d in args[i + 1 :] if not unset(d)]
        args = args[:i]
    for key in ENV_KEYS:
        if key in env and unset(env[key]):
            del env[key]
    if dirs:
        env["NEMO_MEDIA_DIRS"] = os.pathsep.join(dirs)
    return args


def main() -> None:
    args = prepare(sys.argv[1:], os.environ)
    from nemo_mcp.cli import main as nemo_main

    nemo_main(args)


if __name__ == "__main__":
    main()
