"""PeopleForce HTML to Atlassian Document Format (ADF), which Jira's v3 API requires.

Built on the stdlib ``html.parser`` so that arbitrary, possibly malformed HTML from an
HR editor degrades to text instead of failing a sync. The output respects ADF's
nesting rules (headings and rules only at top level, no blockquote in a list item,
list items starting with a paragraph, the code mark combined only with links, no
empty text nodes), because Jira answers 400 to a document that breaks them.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

Node = dict[str, Any]

_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
# Control characters and lone surrogates: Jira rejects the first, JSON encoders the second.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_TAG = re.compile(r"<[^>]*>")
_LOOKS_LIKE_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!]")

_BLOCK_BREAKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "address",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "caption",
        "form",
        "fieldset",
        "legend",
        "center",
        "details",
        "summary",
    ]
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_MARKS = {
    "b": "strong",
    "strong": "strong",
    "i": "em",
    "em": "em",
    "cite": "em",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "code": "code",
    "tt": "code",
    "kbd": "code",
    "samp": "code",
}
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_LISTS = {"ul": "bulletList", "ol": "orderedList"}
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:", "ftp://")
_LIST_TYPES = frozenset(_LISTS.values())
_IMPLICIT = "_implicit"  # marks a list opened by a stray <li>; removed before output


def empty_doc() -> Node:
    return {"type": "doc", "version": 1, "content": []}


def _clean(text: str) -> str:
    return _UNSAFE_CHARS.sub("", text)


class _AdfBuilder(HTMLParser):
    """Streams parser events into a stack of open ADF block containers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = empty_doc()
        self.stack: list[Node] = [self.doc]
        self.textblock: Node | None = None
        self.marks: list[tuple[str, Node | None]] = []
        self.skip_depth = 0

    # --- parser events -----------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self._hard_break()
        elif tag in _BLOCK_BREAKS:
            self._close_textblock()
        elif tag in _HEADINGS:
            if self._container["type"] == "doc":
                self._open_textblock("heading", {"level": _HEADINGS[tag]})
            else:
                self._open_textblock("paragraph")
        elif tag == "pre":
            self._open_textblock("codeBlock")
        elif tag in _LISTS:
            self._open_list(_LISTS[tag], dict(attrs))
        elif tag == "li":
            self._open_list_item()
        elif tag == "blockquote":
            self._open_blockquote()
        elif tag == "hr":
            self._close_textblock()
            self._leave_implicit_list()
            if self._container["type"] == "doc":
                self.doc["content"].append({"type": "rule"})
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            safe = href.lower().startswith(_SAFE_SCHEMES)
            link = {"type": "link", "attrs": {"href": href}} if safe else None
            self.marks.append((tag, link))
        elif tag in _MARKS:
            self.marks.append((tag, {"type": _MARKS[tag]}))
        elif tag in ("td", "th"):
            self._soft_space()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "br":
            self._hard_break()
        elif tag in _BLOCK_BREAKS or tag in _HEADINGS or tag == "pre":
            self._close_textblock()
        elif tag in _LISTS:
            self._close_up_to({_LISTS[tag]}, stop_at=frozenset())
        elif tag == "li":
            self._close_up_to({"listItem"}, stop_at=_LIST_TYPES)
        elif tag == "blockquote":
            self._close_up_to({"blockquote"}, stop_at=frozenset())
        elif tag == "a" or tag in _MARKS:
            for index in range(len(self.marks) - 1, -1, -1):
                if self.marks[index][0] == tag:
                    del self.marks[index]
                    break

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        text = _clean(data)
        if self.textblock is not None and self.textblock["type"] == "codeBlock":
            if not self.textblock["content"] and text.startswith("\n"):
                text = text[1:]
            self._append_text(text, marks=[])
            return
        text = _HTML_SPACE.sub(" ", text)
        if self._at_line_start():
            text = text.lstrip(" ")
        if text:
            self._ensure_textblock()
            self._append_text(text, marks=self._active_marks())

    def finish(self) -> Node:
        self.close()
        self._close_textblock()
        while len(self.stack) > 1:
            self._pop()
        return self.doc

    # --- blocks ------------------------------------------------------------------------

    @property
    def _container(self) -> Node:
        return self.stack[-1]

    def _leave_implicit_list(self) -> None:
        """A stray ``<li>`` opened a list of its own; whatever is not an item ends it."""
        if self._container.get(_IMPLICIT):
            self._pop()

    def _open_textblock(self, kind: str, attrs: dict[str, Any] | None = None) -> Node:
        self._close_textblock()
        self._leave_implicit_list()
        if self._container["type"] in _LIST_TYPES:
            self._push({"type": "listItem", "content": []})
        node: Node = {"type": kind, "content": []}
        if attrs:
            node["attrs"] = attrs
        self.textblock = node
        return node

    def _ensure_textblock(self) -> Node:
        if self.textblock is None:
            return self._open_textblock("paragraph")
        return self.textblock

    def _close_textblock(self) -> None:
        block, self.textblock = self.textblock, None
        if block is None:
            return
        content: list[Node] = block["content"]
        if block["type"] == "codeBlock":
            if content and content[-1]["text"].endswith("\n"):
                content[-1]["text"] = content[-1]["text"][:-1]
        else:
            while content and content[-1]["type"] == "hardBreak":
                content.pop()
            if content:
                content[-1]["text"] = content[-1]["text"].rstrip(" ")
        block["content"] = [n for n in content if n["type"] != "text" or n["text"]]
        if block["content"]:
            self._container["content"].append(block)

    def _open_list(self, kind: str, attrs: dict[str, str | None]) -> None:
        self._close_textblock()
        self._leave_implicit_list()
        if self._container["type"] in _LIST_TYPES:
            self._push({"type": "listItem", "content": []})
        node: Node = {"type": kind, "content": []}
        start = (attrs.get("start") or "").strip()
        if kind == "orderedList" and start.isdigit() and int(start) > 1:
            node["attrs"] = {"order": int(start)}
        self._push(node)

    def _open_list_item(self) -> None:
        self._close_textblock()
        if self._container["type"] == "listItem":
            self._pop()
        if self._container["type"] not in _LIST_TYPES:
            self._open_list("bulletList", {})
            self._container[_IMPLICIT] = True
        self._push({"type": "listItem", "content": []})

    def _open_blockquote(self) -> None:
        self._close_textblock()
        self._leave_implicit_list()
        if self._container["type"] == "doc":
            self._push({"type": "blockquote", "content": []})

    def _close_up_to(self, kinds: set[str], *, stop_at: frozenset[str]) -> None:
        self._close_textblock()
        for index in range(len(self.stack) - 1, 0, -1):
            kind = self.stack[index]["type"]
            if kind in kinds:
                while len(self.stack) > index:
                    self._pop()
                return
            if kind in stop_at:
                return

    def _push(self, node: Node) -> None:
        self.stack.append(node)

    def _pop(self) -> None:
        node = self.stack.pop()
        node.pop(_IMPLICIT, None)
        content: list[Node] = node["content"]
        if not content:
            return
        if node["type"] == "listItem" and content[0]["type"] not in ("paragraph", "codeBlock"):
            content.insert(0, {"type": "paragraph", "content": []})
        self._container["content"].append(node)

    # --- inline ------------------------------------------------------------------------

    def _at_line_start(self) -> bool:
        if self.textblock is None or not self.textblock["content"]:
            return True
        last = self.textblock["content"][-1]
        return last["type"] == "hardBreak" or last["text"].endswith(" ")

    def _soft_space(self) -> None:
        if not self._at_line_start():
            self._append_text(" ", marks=self._active_marks())

    def _hard_break(self) -> None:
        block = self._ensure_textblock()
        if block["type"] == "codeBlock":
            self._append_text("\n", marks=[])
            return
        if block["content"] and block["content"][-1]["type"] == "text":
            block["content"][-1]["text"] = block["content"][-1]["text"].rstrip(" ")
            if not block["content"][-1]["text"]:
                block["content"].pop()
        block["content"].append({"type": "hardBreak"})

    def _active_marks(self) -> list[Node]:
        by_type: dict[str, Node] = {}
        for _tag, mark in self.marks:
            if mark is not None:
                by_type[mark["type"]] = mark
        if "code" in by_type:
            by_type = {k: v for k, v in by_type.items() if k in ("code", "link")}
        return [by_type[kind] for kind in sorted(by_type)]

    def _append_text(self, text: str, *, marks: list[Node]) -> None:
        if not text:
            return
        block = self._ensure_textblock()
        content: list[Node] = block["content"]
        if content and content[-1]["type"] == "text" and content[-1].get("marks", []) == marks:
            content[-1]["text"] += text
            return
        node: Node = {"type": "text", "text": text}
        if marks:
            node["marks"] = [dict(mark) for mark in marks]
        content.append(node)


def text_to_adf(text: str | None) -> Node:
    """Plain text to ADF: blank lines separate paragraphs, single newlines become breaks."""
    doc = empty_doc()
    if not text:
        return doc
    normalised = _clean(text.replace("\r\n", "\n").replace("\r", "\n"))
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
    if not source or not _HTML_SPACE.sub("", source):
        return empty_doc()
    builder = _AdfBuilder()
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
        elif kind in _LIST_TYPES:
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
