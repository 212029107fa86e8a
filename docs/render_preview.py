"""Render docs/preview.svg: a preview and its thread, drawn from the Block Kit the bot really builds.

    .venv/bin/python -m docs.render_preview           # (re)write docs/preview.svg
    .venv/bin/python -m docs.render_preview --check   # exit 1 if docs/preview.svg is out of date

The sample preview and result below are fixed; the messages are made by `bot.render.messages.preview_message`
and `bot.render.messages.result_message`, so the picture changes when what the bot posts changes
(tests/unit/test_docs.py checks that the committed SVG matches). Only the block types those messages use are
drawn (section text and fields, context, actions), in a Slack-like style; widths are estimated, not measured.
"""

from __future__ import annotations

import html
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from bot.actions import ActionRequest, ActionResult, ActionType, Param, ParamMode, RunStatus
from bot.render.messages import Message, preview_message, result_message
from bot.runs.records import Preview

OUTPUT = Path(__file__).resolve().parent / "preview.svg"
COMMAND = '/zap SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'
NAMES = {"U0ADA": "ada", "U0BOB": "bob"}
CHANNEL = "general"
POSTED_AT = 1_767_261_600  # 2026-01-01 10:00 UTC: the sample's fixed clock (times shown in UTC)
JOKE = "Why are pirates great at delivering pizza? Because X always marks the spot!"


def sample_preview() -> Preview:
    """The preview Zapier would give for the README's first example command."""
    request = ActionRequest(
        app="SlackAPI",
        action="channel_message",
        instructions="Send a joke about pirates delivering pizza",
        action_type=ActionType.WRITE,
        params={"channel": Param(ParamMode.GUESS, "#general")},
    )
    result = ActionResult(
        execution_log_id="01JGX5T0AYQ8R2M4N6P8",
        action_used="Send Channel Message",
        status=RunStatus.PREVIEW,
        resolved_params={"channel": {"label": "#general", "value": "C024BE7LR"}, "text": JOKE},
    )
    return Preview(
        id="p-sample",
        team="T0SAMPLE",
        channel="C024BE7LR",
        requested_by="U0ADA",
        request=request,
        result=result,
        created_at=POSTED_AT,
        expires_at=POSTED_AT + 900,
    )


def sample_result() -> ActionResult:
    """What the confirmed run returns."""
    return ActionResult(
        execution_log_id="01JGX5V3B7C9D1E3F5G7",
        action_used="Send Channel Message",
        status=RunStatus.SUCCESS,
        results=[{"text": JOKE, "channel": "C024BE7LR", "ts": "1767261642.000200"}],
        result_field_labels={"text": "Message Text", "channel": "Channel", "ts": "Message Timestamp"},
    )


# mrkdwn -> styled runs ----------------------------------------------------------------------------------
EMOJI = {
    "white_check_mark": "✅",
    "warning": "⚠️",
    "x": "❌",
    "hourglass": "⌛",
    "mag": "🔍",
    "information_source": "ℹ",  # noqa: RUF001 - the information emoji, as Slack shows it
    "+1": "👍",
    "-1": "👎",
    "busts_in_silhouette": "👥",
    "pencil2": "✏️",
}
_TOKEN = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?<![\w*])\*(?P<bold>(?=\S)[^*\n]+?(?<=\S))\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>(?=\S)[^_\n]+?(?<=\S))_(?![\w_])"
    r"|<(?P<ref>[^<>\n]+)>"
    r"|:(?P<emoji>[a-z0-9_+\-]+):"
)


@dataclass(frozen=True)
class Run:
    """A piece of text in one style: plain, bold, italic, code, link (mentions too) or muted."""

    text: str
    style: str = "plain"


def _reference(target: str) -> Run:
    target, _, label = target.partition("|")
    if target.startswith("@"):
        return Run("@" + NAMES.get(target[1:], label or target[1:]), "link")
    if target.startswith("#"):
        return Run("#" + (label or CHANNEL), "link")
    if target.startswith("!date^"):
        stamp = int(target.split("^")[1])
        return Run(time.strftime("%H:%M UTC", time.gmtime(stamp)))
    return Run(label or target, "link")


def parse(text: str, base: str = "plain") -> list[Run]:
    """Slack mrkdwn (one line) -> runs; entities are undone, since what a reader sees is what we draw."""
    runs: list[Run] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            runs.append(Run(html.unescape(text[position : match.start()]), base))
        if code := match.group("code"):
            runs.append(Run(html.unescape(code[1:-1]), "code"))
        elif bold := match.group("bold"):
            runs.extend(parse(bold, "bold"))
        elif italic := match.group("italic"):
            runs.extend(parse(italic, "italic"))
        elif ref := match.group("ref"):
            runs.append(_reference(ref))
        else:
            name = match.group("emoji")
            runs.append(Run(EMOJI.get(name, f":{name}:"), base))
        position = match.end()
    if position < len(text):
        runs.append(Run(html.unescape(text[position:]), base))
    return runs


# measuring and wrapping ---------------------------------------------------------------------------------
def char_width(char: str, size: float, style: str) -> float:
    """An estimate of one character's advance in Lato-like sans (monospace for code), in pixels."""
    if style == "code":
        return 0.6 * size * 0.87  # code is drawn at 0.87 of the text's size
    if ord(char) > 0x2000:
        em = 1.25  # emoji and symbols
    elif char in "iljI.,:;'|!()[]":
        em = 0.3
    elif char == " ":
        em = 0.28
    elif char in "mwMW@":
        em = 0.86
    elif char.isupper() or char.isdigit():
        em = 0.64
    else:
        em = 0.53
    return em * size * (1.06 if style == "bold" else 1.0)


def text_width(text: str, size: float, style: str) -> float:
    return sum(char_width(c, size, style) for c in text)


def wrap(runs: list[Run], width: float, size: float) -> list[list[Run]]:
    """Greedy word wrap of styled runs into lines no wider than `width`."""
    lines: list[list[Run]] = [[]]
    used = 0.0
    for run in runs:
        for piece in re.findall(r"\S+\s*|\s+", run.text):
            word = piece
            if used + text_width(word.rstrip(), size, run.style) > width and used > 0:
                lines.append([])
                used = 0.0
                word = word.lstrip()
            lines[-1].append(Run(word, run.style))
            used += text_width(word, size, run.style)
    return lines


# drawing ------------------------------------------------------------------------------------------------
SANS = "Lato, 'Helvetica Neue', Helvetica, Arial, sans-serif"
MONO = "Monaco, Menlo, Consolas, 'Courier New', monospace"
WIDTH = 760
TEXT_X = 76
TEXT_WIDTH = WIDTH - TEXT_X - 28
BODY = 15.0
SMALL = 12.5
LINE = 22.0
SMALL_LINE = 18.0
INK = "#1d1c1d"
MUTED = "#616061"
LINK = "#1264a3"
CODE = "#e01e5a"


def _tspans(line: list[Run], size: float, muted: bool) -> str:
    parts = []
    for run in line:
        attributes = []
        if run.style == "bold":
            attributes.append('font-weight="700"')
        elif run.style == "italic":
            attributes.append('font-style="italic"')
        elif run.style == "code":
            attributes.append(f'font-family="{MONO}" fill="{CODE}" font-size="{size * 0.87:.1f}"')
        elif run.style == "link":
            attributes.append(f'fill="{LINK}"')
        if muted and run.style not in {"code", "link"}:
            attributes.append(f'fill="{MUTED}"')
        parts.append(f"<tspan {' '.join(attributes)}>{xml_escape(run.text)}</tspan>")
    return "".join(parts).replace("<tspan >", "<tspan>")


class Canvas:
    """SVG elements laid out top to bottom; `y` is where the next thing goes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.y = 0.0

    def text(self, text: str, x: float, width: float, *, size: float = BODY, muted: bool = False) -> None:
        """Draw mrkdwn text (several lines, wrapped) at x, from the cursor down."""
        line_height = LINE if size == BODY else SMALL_LINE
        quote = text.startswith(">>> ")
        if quote:
            text = text[4:]
            x += 14
            width -= 14
            top = self.y
        for paragraph in text.split("\n"):
            for line in wrap(parse(paragraph), width, size) if paragraph else [[]]:
                self.y += line_height
                if line:
                    spans = _tspans(line, size, muted)
                    self.parts.append(
                        f'<text x="{x:.0f}" y="{self.y - 6:.0f}" font-size="{size}" fill="{INK}" '
                        f'xml:space="preserve">{spans}</text>'
                    )
        if quote:
            self.parts.append(
                f'<rect x="{x - 14:.0f}" y="{top + 3:.0f}" width="4" height="{self.y - top - 2:.0f}" '
                'rx="2" fill="#dddddd"/>'
            )

    def block(self, block: dict[str, Any]) -> None:
        kind = block["type"]
        if kind == "section" and "text" in block:
            self.text(block["text"]["text"], TEXT_X, TEXT_WIDTH)
            self.y += 6
        elif kind == "section":
            self.fields([f["text"] for f in block["fields"]])
        elif kind == "context":
            for element in block["elements"]:
                self.text(element["text"], TEXT_X, TEXT_WIDTH, size=SMALL, muted=True)
            self.y += 6
        elif kind == "actions":
            self.buttons(block["elements"])
        else:
            raise ValueError(f"the picture does not draw {kind} blocks yet")

    def fields(self, texts: list[str]) -> None:
        column = (TEXT_WIDTH - 20) / 2
        for row in range(0, len(texts), 2):
            top, bottom = self.y, self.y
            for index, text in enumerate(texts[row : row + 2]):
                self.y = top
                self.text(text, TEXT_X + index * (column + 20), column)
                bottom = max(bottom, self.y)
            self.y = bottom + 8

    def buttons(self, elements: list[dict[str, Any]]) -> None:
        x = float(TEXT_X)
        top = self.y + 4
        for element in elements:
            label = element["text"]["text"]
            width = text_width(label, 14, "bold") + 28
            primary = element.get("style") == "primary"
            fill, stroke, ink = ("#007a5a", "#007a5a", "#ffffff") if primary else ("#ffffff", "#bbbbbb", INK)
            self.parts.append(
                f'<rect x="{x:.0f}" y="{top:.0f}" width="{width:.0f}" height="30" rx="4" fill="{fill}" '
                f'stroke="{stroke}"/>'
                f'<text x="{x + width / 2:.0f}" y="{top + 20:.0f}" font-size="14" font-weight="700" '
                f'fill="{ink}" text-anchor="middle">{xml_escape(label)}</text>'
            )
            x += width + 8
        self.y = top + 30 + 10

    def message(self, message: Message, author: str, posted_at: int) -> None:
        """One message: avatar, author line, then its blocks."""
        top = self.y + 14
        self.parts.append(f'<rect x="24" y="{top:.0f}" width="38" height="38" rx="6" fill="#ff4f00"/>')
        self.parts.append(
            f'<text x="43" y="{top + 26:.0f}" font-size="20" font-weight="700" fill="#ffffff" '
            'text-anchor="middle">z</text>'
        )
        clock = time.strftime("%H:%M", time.gmtime(posted_at))
        badge_x = TEXT_X + text_width(author, BODY, "bold") + 8
        self.parts.append(
            f'<text x="{TEXT_X}" y="{top + 14:.0f}" font-size="{BODY}" font-weight="700" fill="{INK}">'
            f"{xml_escape(author)}</text>"
            f'<rect x="{badge_x:.0f}" y="{top + 2:.0f}" width="30" height="15" rx="3" fill="#e8e8e8"/>'
            f'<text x="{badge_x + 15:.0f}" y="{top + 13:.0f}" font-size="9.5" font-weight="700" '
            f'fill="{MUTED}" text-anchor="middle">APP</text>'
            f'<text x="{badge_x + 38:.0f}" y="{top + 14:.0f}" font-size="12" fill="{MUTED}">{clock}</text>'
        )
        self.y = top + 18
        for block in message["blocks"]:
            self.block(block)

    def banner(self, title: str, subtitle: str) -> None:
        """A pane's title bar, with a line under it."""
        subtitle_x = 24 + text_width(title, 16, "bold") * 1.1 + 12
        self.parts.append(
            f'<rect x="0" y="{self.y:.0f}" width="{WIDTH}" height="46" fill="#f8f8f8"/>'
            f'<text x="24" y="{self.y + 29:.0f}" font-size="16" font-weight="900" fill="{INK}">'
            f"{xml_escape(title)}</text>"
            f'<text x="{subtitle_x:.0f}" y="{self.y + 29:.0f}" font-size="13" '
            f'fill="{MUTED}">{xml_escape(subtitle)}</text>'
            f'<line x1="0" x2="{WIDTH}" y1="{self.y + 46:.0f}" y2="{self.y + 46:.0f}" stroke="#dddddd"/>'
        )
        self.y += 46

    def svg(self) -> str:
        height = self.y + 16
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{SANS}">\n'
            "<title>zapbot: a preview in #general, and the result in its thread after Confirm</title>\n"
            f'<rect width="{WIDTH}" height="{height:.0f}" rx="10" fill="#ffffff" stroke="#dddddd"/>\n'
            + "\n".join(self.parts)
            + "\n</svg>\n"
        )


def render() -> str:
    """The whole picture, as SVG text."""
    preview = sample_preview()
    canvas = Canvas()
    canvas.banner(f"# {CHANNEL}", "where ada typed the command below")
    canvas.y += 4
    canvas.text(f"`{COMMAND}`", 24, WIDTH - 48, size=SMALL, muted=True)
    canvas.message(preview_message(preview), "zapbot", POSTED_AT)
    canvas.y += 12
    canvas.banner("Thread", f"# {CHANNEL} · after bob clicked Confirm")
    canvas.message(result_message(preview, sample_result()), "zapbot", POSTED_AT + 42)
    return canvas.svg()


def main(argv: list[str]) -> int:
    svg = render()
    if "--check" in argv:
        if OUTPUT.read_text(encoding="utf-8") != svg:
            print(f"{OUTPUT} is out of date: run .venv/bin/python -m docs.render_preview", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(svg, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
