"""Atlassian Document Format (ADF), which Jira's v3 API requires for rich text.

Descriptions arrive from PeopleForce as HTML (parsed by ``gateway.sync.adf_html``)
and template results as plain text; both become ADF documents here, and an ADF
document renders back to plain text for previews and tests.
"""

from __future__ import annotations

import html
import re

from gateway.sync.adf_html import HTML_SPACE, LIST_TYPES, AdfBuilder, Node, clean_text, empty_doc

_TAG = re.compile(r"<[^>]*>")
_LOOKS_LIKE_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!]")


def text_to_adf(text: str | None) -> Node:
    """Plain text to ADF: blank lines separate paragraphs, single newlines become breaks."""
    doc = empty_doc()
    if not text:
        return doc
    normalised = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    for chunk in re.split(r"\n\s*\n", normalised):
        content: list[Node] = []
        for index, line in enumerate(chunk.strip("\n").split("\n")):
            if index:
                content.append({"type": "hardBreak"})
            line = line.strip()
            if line:
                content.append({"type": "text", "text": line})
        while content and content[-1]["type"] == "hardBreak":
            content.pop()
        if any(node["type"] == "text" for node in content):
            doc["content"].append({"type": "paragraph", "content": content})
    return doc


def html_to_adf(source: str | None) -> Node:
    """PeopleForce's HTML description as an ADF document (``content`` empty when blank)."""
    # HTML whitespace only: a non-breaking space is content, not blank.
    if not source or not HTML_SPACE.sub("", source):
        return empty_doc()
    builder = AdfBuilder()
    try:
        builder.feed(source)
        return builder.finish()
    except Exception:
        # The stdlib parser still has corner cases that raise; fall back to its text.
        return text_to_adf(html.unescape(_TAG.sub(" ", source)))


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_LIKE_HTML.search(text))


def to_adf(value: str | None) -> Node:
    """ADF from a string that may be HTML (a description) or plain text (a template result)."""
    if value and looks_like_html(value):
        return html_to_adf(value)
    return text_to_adf(value)


def adf_to_text(doc: Node | None) -> str:
    """A plain-text rendering, for previews in the admin UI and for tests."""
    if not isinstance(doc, dict):
        return ""
    return "\n".join(_block_lines(doc.get("content") or [])).strip("\n")


def _inline_text(nodes: list[Node]) -> str:
    parts = []
    for node in nodes:
        if node.get("type") == "text":
            parts.append(str(node.get("text", "")))
        elif node.get("type") == "hardBreak":
            parts.append("\n")
    return "".join(parts)


def _block_lines(blocks: list[Node]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        content = block.get("content") or []
        if kind in ("paragraph", "heading", "codeBlock"):
            lines.extend(_inline_text(content).split("\n"))
        elif kind in LIST_TYPES:
            order = (block.get("attrs") or {}).get("order", 1)
            for index, item in enumerate(content):
                bullet = f"{order + index}. " if kind == "orderedList" else "- "
                item_lines = _block_lines(item.get("content") or []) or [""]
                lines.append(bullet + item_lines[0])
                lines.extend("  " + line for line in item_lines[1:])
        elif kind == "blockquote":
            lines.extend("> " + line for line in _block_lines(content))
        elif kind == "rule":
            lines.append("---")
    return lines
