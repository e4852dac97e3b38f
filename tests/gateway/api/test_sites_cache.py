"""The cached site lookup of an issue URL answers exactly as the uncached parse."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.api.sites import _site_of_issue_prefix, site_of_issue, site_of_issue_url

PIECES = [
    "https:",
    "HTTP:",
    "ftp:",
    "//",
    "/",
    "acme.atlassian.net",
    "ACME.atlassian.net",
    "[::1]",
    ":443",
    ":8080",
    ":99999",
    "user:pw@",
    "/rest/",
    "rest",
    "/jira",
    "/api/2/issue/",
    "?",
    "#",
    "=",
    " ",
    "\t",
    "\n",
    "5",
    "123",
]
ISSUE_IDS = st.from_regex(r"[0-9]{1,19}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(url=st.lists(st.sampled_from(PIECES), max_size=10).map("".join), issue_id=ISSUE_IDS)
def test_cached_lookup_equals_the_parse(url: str, issue_id: str) -> None:
    for candidate in (url, url + issue_id, url + "/" + issue_id):
        assert site_of_issue(candidate, issue_id) == site_of_issue_url(candidate), candidate


def test_issues_of_one_site_are_parsed_once() -> None:
    _site_of_issue_prefix.cache_clear()
    for issue_id in ("1", "22", "333"):
        url = f"https://acme.atlassian.net/rest/api/2/issue/{issue_id}"
        assert site_of_issue(url, issue_id) == "https://acme.atlassian.net"
    info = _site_of_issue_prefix.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_a_url_not_ending_in_the_id_is_parsed_as_it_is() -> None:
    _site_of_issue_prefix.cache_clear()
    url = "https://acme.atlassian.net/rest/api/2/issue/7?expand=x"
    assert site_of_issue(url, "7") == "https://acme.atlassian.net"
    assert _site_of_issue_prefix.cache_info().currsize == 0
