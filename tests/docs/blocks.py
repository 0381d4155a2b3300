"""The fenced blocks of a docs page, as the tutorial tests run them.

A block is run (``sh``, ``bash``, ``shell``), written to a file (any block with ``title="NAME"``, before the blocks
after it run) or shown only (anything else). An HTML comment on the line before a block changes that:

    <!-- not-run: REASON -->   shown only (a Jetson on the network, a CI workflow file); REASON is required
    <!-- exit: 0 1 -->         the exit codes the block may end with (default: 0)

and ``<!-- tutorial: slow -->`` anywhere in a page marks the whole page slow."""

from __future__ import annotations

import re
from dataclasses import dataclass

RUN_LANGS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^<!--\s*(?P<key>not-run|exit|tutorial)\s*:\s*(?P<value>.*?)\s*-->\s*$")
TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    title: str | None = None  # a file the block is written to
    not_run: str | None = None  # why it is shown only
    exits: tuple[int, ...] = (0,)

    @property
    def runs(self) -> bool:
        return self.not_run is None and self.title is None and self.lang in RUN_LANGS

    @property
    def writes(self) -> bool:
        return self.not_run is None and self.title is not None


def blocks(markdown: str) -> list[Block]:
    """Every fenced block of `markdown`, in order, with the marker that precedes it applied."""
    out, lines, i, pending = [], markdown.split("\n"), 0, {}
    while i < len(lines):
        marker = MARKER.match(lines[i].strip())
        if marker and marker["key"] in ("not-run", "exit"):
            pending[marker["key"]] = marker["value"]
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                pending = {}  # a marker belongs to the block right after it, blank lines apart
            i += 1
            continue
        info = fence["info"].strip()
        lang = info.split()[0].lower() if info else ""
        title = TITLE.search(info)
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence["fence"]):
            body.append(lines[i][len(fence["indent"]) :] if lines[i].startswith(fence["indent"]) else lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"line {start + 1}: the fence is never closed")
        if "not-run" in pending and not pending["not-run"]:
            raise ValueError(f"line {start + 1}: <!-- not-run: --> needs a reason")
        exits = tuple(int(x) for x in pending["exit"].split()) if "exit" in pending else (0,)
        name = title["title"] if title else None
        out.append(Block(lang, "\n".join(body) + "\n", start + 1, name, pending.get("not-run"), exits))
        pending = {}
        i += 1
    return out


def is_slow(markdown: str) -> bool:
    markers = (MARKER.match(line.strip()) for line in markdown.split("\n"))
    return any(m and m["key"] == "tutorial" and m["value"] == "slow" for m in markers)
