"""HTML to ADF: each construct, malformed input, and structural validity for any input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.sync.adf import adf_to_text, html_to_adf, text_to_adf, to_adf

BLOCK_CHILDREN = {
    "doc": {"paragraph", "heading", "bulletList", "orderedList", "blockquote", "codeBlock", "rule"},
    "blockquote": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": {"paragraph", "bulletList", "orderedList", "codeBlock"},
}
HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
MARKS = {"strong", "em", "underline", "strike", "code", "link"}


def assert_valid_adf(doc: dict[str, Any]) -> None:
    """The ADF rules Jira enforces on a description (the subset this converter emits)."""
    assert doc["type"] == "doc" and doc["version"] == 1
    json.dumps(doc).encode("utf-8")  # serialisable, no lone surrogates
    check_block(doc)


def check_block(node: dict[str, Any]) -> None:
    kind = node["type"]
    content = node.get("content", [])
    if kind in ("paragraph", "heading"):
        if kind == "heading":
            assert node["attrs"]["level"] in range(1, 7)
        for child in content:
            check_inline(child)
        return
    if kind == "codeBlock":
        assert content and all(c["type"] == "text" and "marks" not in c for c in content)
        assert all(c["text"] for c in content)
        return
    if kind == "rule":
        return
    allowed = BLOCK_CHILDREN[kind]
    assert {child["type"] for child in content} <= allowed, (kind, content)
    if kind != "doc":
        assert content, f"empty {kind}"
    if kind == "listItem":
        assert content[0]["type"] in ("paragraph", "codeBlock")
    for child in content:
        check_block(child)


def check_inline(node: dict[str, Any]) -> None:
    assert node["type"] in ("text", "hardBreak")
    if node["type"] == "text":
        assert isinstance(node["text"], str) and node["text"]
        marks = [mark["type"] for mark in node.get("marks", [])]
        assert len(marks) == len(set(marks)) and set(marks) <= MARKS
        if "code" in marks:
            assert set(marks) <= {"code", "link"}
        for mark in node.get("marks", []):
            if mark["type"] == "link":
                assert mark["attrs"]["href"]


def para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def text(value: str, *marks: str | dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": m} if isinstance(m, str) else m for m in marks]
    return node


def item(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(blocks)}


BREAK = {"type": "hardBreak"}

CASES = [
    ("<p>Hello</p><p>World</p>", [para(text("Hello")), para(text("World"))]),
    ("line one<br>line two<br/>", [para(text("line one"), BREAK, text("line two"))]),
    ("<b>a</b><strong>b</strong>", [para(text("ab", "strong"))]),
    ("<i>a</i> <em>b</em>", [para(text("a", "em"), text(" "), text("b", "em"))]),
    ("<u>under</u>", [para(text("under", "underline"))]),
    ("run <code>make</code>", [para(text("run "), text("make", "code"))]),
    ("<b><code>x</code></b>", [para(text("x", "code"))]),
    (
        '<a href="https://hr.acme.test/x?a=1&amp;b=2">guide</a>',
        [
            para(
                text("guide", {"type": "link", "attrs": {"href": "https://hr.acme.test/x?a=1&b=2"}})
            )
        ],
    ),
    ('<a href="javascript:alert(1)">x</a>', [para(text("x"))]),
    (
        "<ul><li>one</li><li>two</li></ul>",
        [{"type": "bulletList", "content": [item(para(text("one"))), item(para(text("two")))]}],
    ),
    (
        "<ol><li>first<ul><li>nested</li></ul></li></ol>",
        [
            {
                "type": "orderedList",
                "content": [
                    item(
                        para(text("first")),
                        {"type": "bulletList", "content": [item(para(text("nested")))]},
                    )
                ],
            }
        ],
    ),
    (
        "<h1>Title</h1><h3>Sub</h3>",
        [
            {"type": "heading", "attrs": {"level": 1}, "content": [text("Title")]},
            {"type": "heading", "attrs": {"level": 3}, "content": [text("Sub")]},
        ],
    ),
    (
        "<blockquote><p>quoted</p></blockquote>",
        [{"type": "blockquote", "content": [para(text("quoted"))]}],
    ),
    ("Tom &amp; Jerry &lt;3 &eacute;&#233;", [para(text("Tom & Jerry <3 éé"))]),
    ("  lots   of \n\t space  ", [para(text("lots of space"))]),
    ("<span>unknown</span> <custom-tag>tags</custom-tag>", [para(text("unknown tags"))]),
    ("<script>alert(1)</script><style>p{}</style>visible", [para(text("visible"))]),
    ("<pre>  keep\n  indent</pre>", [{"type": "codeBlock", "content": [text("  keep\n  indent")]}]),
    ("<p><br></p><p></p>", []),
    ("<li>orphan item", [{"type": "bulletList", "content": [item(para(text("orphan item")))]}]),
]


@pytest.mark.parametrize(("source", "content"), CASES)
def test_constructs(source: str, content: list[dict[str, Any]]) -> None:
    doc = html_to_adf(source)
    assert doc == {"type": "doc", "version": 1, "content": content}
    assert_valid_adf(doc)


@pytest.mark.parametrize("source", [None, "", "   ", "<p></p>", "<ul></ul>"])
def test_empty_input_gives_an_empty_valid_doc(source: str | None) -> None:
    doc = html_to_adf(source)
    assert doc == {"type": "doc", "version": 1, "content": []}


@pytest.mark.parametrize(
    "source",
    [
        "<p>unclosed <b>bold <i>both",
        "</p></ul></li>stray closers",
        "<ul><li>a<li>b</ul></li></ol>",
        "<blockquote><blockquote>deep</blockquote></blockquote>",
        "<li><h2>heading in item</h2><blockquote>quote in item</blockquote></li>",
        "<ul>text directly in list<ul><li>x</li></ul></ul>",
        "<![if !supportLists]>word<![endif]>",
        "<!-- comment --><!DOCTYPE html><?xml x?>",
        "<a href='https://x.test'><code>c</code></a>",
        "<p>a\x00b\x1fc\ud800</p>",
        "<" * 50 + ">" * 50,
        "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
    ],
)
def test_malformed_html_still_yields_valid_adf(source: str) -> None:
    assert_valid_adf(html_to_adf(source))


def test_heading_in_list_and_quote_degrades_to_paragraph() -> None:
    doc = html_to_adf("<li><h2>t</h2></li><blockquote><h1>q</h1></blockquote>")
    assert adf_to_text(doc) == "- t\n> q"
    assert "heading" not in json.dumps(doc)


def test_table_cells_are_separated() -> None:
    doc = html_to_adf("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>")
    assert adf_to_text(doc) == "a b\nc"


def test_adf_to_text() -> None:
    doc = html_to_adf("<h1>T</h1><p>a<br>b</p><ol><li>x</li><li>y<ul><li>z</li></ul></li></ol><hr>")
    assert adf_to_text(doc) == "T\na\nb\n1. x\n2. y\n  - z\n---"
    assert adf_to_text(None) == ""


def test_text_to_adf_and_to_adf() -> None:
    doc = text_to_adf("first line\nsecond\n\n  next paragraph  \n")
    assert doc["content"] == [
        para(text("first line"), BREAK, text("second")),
        para(text("next paragraph")),
    ]
    assert to_adf("a <b> c")["content"] == [para(text("a "), text("c", "strong"))]
    assert to_adf("a < b")["content"] == [para(text("a < b"))]


html_fragments = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<br>",
            "<b>",
            "</b>",
            "<i>",
            "</i>",
            "<u>",
            "</u>",
            "<code>",
            "</code>",
            '<a href="https://x.test">',
            "</a>",
            "<ul>",
            "</ul>",
            "<ol>",
            "</ol>",
            "<li>",
            "</li>",
            "<h2>",
            "</h2>",
            "<blockquote>",
            "</blockquote>",
            "<pre>",
            "</pre>",
            "<hr>",
            "<div>",
            "</div>",
            "&amp;",
            "&nbsp;",
            " ",
            "\n",
            "text",
            "<",
            ">",
            "<script>",
            "</script>",
            "<table><tr><td>",
            "<![if x]>",
        ]
    )
    | st.text(max_size=5),
    max_size=40,
).map("".join)


@given(html_fragments)
def test_any_html_gives_valid_adf(source: str) -> None:
    assert_valid_adf(html_to_adf(source))


@given(st.text())
def test_any_text_gives_valid_adf(source: str) -> None:
    assert_valid_adf(html_to_adf(source))
    assert_valid_adf(text_to_adf(source))


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cc", "Cs"], blacklist_characters="<&"),
        min_size=1,
    )
)
def test_plain_text_keeps_its_words(source: str) -> None:
    words = [w for w in HTML_SPACE.split(source) if w]
    result = adf_to_text(html_to_adf(source))
    assert [w for w in HTML_SPACE.split(result) if w] == words
