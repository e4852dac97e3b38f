"""How a PeopleForce base URL is written, and the warning when it lacks the API path.

PeopleForce serves its public API under ``/api/public/v3`` (v2 under
``/api/public/v2``) and answers 404 to the same paths without it, often with an
HTML page that tells the operator nothing. A base URL such as
``https://app.peopleforce.io`` is valid as a URL, so it is accepted, but every
surface that shows or checks a domain (the CLI, the admin UI and API, ``gateway
check``, "Test connection") says what is missing before the first tick fails.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

PF_API_PATH = "/api/public/v3"
PF_BASE_URL_EXAMPLE = f"https://app.peopleforce.io{PF_API_PATH}"
_API_PATH = re.compile(r"/api/public/v\d+/?$")
_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def check_base_url(value: str) -> str:
    """A base URL credentials may be sent to, normalised; ValueError (one line) otherwise.

    Refused beyond the shape: user:password@ in the URL (it would be stored, listed and
    audited in clear, outside the encrypted credential fields) and link-local hosts
    such as the cloud metadata address 169.254.169.254, where no PeopleForce or Jira
    lives but an instance's own secrets do. Loopback and private addresses stay
    allowed: on-premises proxies and the bundled fakes live there.
    """
    value = value.strip().rstrip("/")
    if not _URL.match(value):
        raise ValueError("must be an http:// or https:// URL such as https://acme.atlassian.net")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise ValueError("must not contain user:password@; enter credentials in their own fields")
    try:
        host = ipaddress.ip_address((parts.hostname or "").strip("[]"))
    except ValueError:
        return value
    if host.is_link_local or host.is_unspecified or host.is_multicast:
        raise ValueError(f"must not point at {host}: a link-local or reserved address")
    return value


def pf_base_url_warning(url: str) -> str | None:
    """A one-line warning when ``url`` does not end in PeopleForce's API path, else None."""
    path = urlsplit(url.strip()).path
    if _API_PATH.search(path):
        return None
    return (
        f"the PeopleForce base URL {url} has no API path: PeopleForce answers 404 there; "
        f"use e.g. {PF_BASE_URL_EXAMPLE} (the path {PF_API_PATH} included)"
    )
