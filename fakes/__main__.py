"""Run a fake on a port: ``python -m fakes peopleforce|jira|oidc --help``.

The demo and manual exploration point a gateway at these; the ``/_fake``
control plane (faults, clock, human actions) is served alongside the API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastapi import FastAPI

from fakes.server import serve_forever

PF_DEFAULT_KEY = "pf-test-key"
JIRA_DEFAULT_EMAIL = "gateway@example.com"
JIRA_DEFAULT_TOKEN = "jira-test-token"
API_PREFIX = "/api/public/v3"
"""PeopleForce's API path (``fakes.peopleforce.API_PREFIX``, repeated to keep --help quick)."""


def _peopleforce(args: argparse.Namespace) -> FastAPI:
    from fakes.peopleforce import create_peopleforce_app

    app = create_peopleforce_app(
        api_key=args.api_key,
        page_size=args.page_size,
        seed=args.seed,
        rate_limit=args.rate_limit,
    )
    if args.tasks:
        app.state.pf.seed_tasks(args.tasks)
    return app


def _jira(args: argparse.Namespace) -> FastAPI:
    from fakes.jira import create_jira_app

    return create_jira_app(
        email=args.email,
        api_token=args.token,
        seed=args.seed,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        # Issue 'self' links must name where this fake really answers: the gateway
        # finds a webhook's domain by the site in them.
        base_url=f"http://{args.host}:{args.port}",
    )


def _oidc(args: argparse.Namespace) -> FastAPI:
    from fakes.oidc import create_oidc_app

    return create_oidc_app(
        f"http://{args.host}:{args.port}",
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uri),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fakes",
        description="Serve a fake PeopleForce or Jira Cloud API with a /_fake control plane.",
    )
    sub = parser.add_subparsers(dest="service", required=True, metavar="{peopleforce,jira,oidc}")

    def common(cmd: argparse.ArgumentParser, port: int) -> None:
        cmd.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
        cmd.add_argument("--port", type=int, default=port, help="port (default: %(default)s)")
        cmd.add_argument("--seed", type=int, default=0, help="seed of every random choice")
        cmd.add_argument("--log-level", default="info", help="uvicorn log level")

    pf = sub.add_parser(
        "peopleforce",
        help="fake PeopleForce API v3 (tasks, employees)",
        description="Serve a fake PeopleForce API v3 under /api/public/v3 (the real path; "
        "the root answers too), with OpenAPI docs at /docs.",
        epilog=f"Defaults: X-API-KEY {PF_DEFAULT_KEY}. A gateway domain's PeopleForce base "
        f"URL: http://127.0.0.1:9001{API_PREFIX}",
    )
    common(pf, 9001)
    pf.add_argument(
        "--api-key", default=PF_DEFAULT_KEY, help="accepted X-API-KEY (default: %(default)s)"
    )
    pf.add_argument("--page-size", type=int, default=50, help="fixed server page size")
    pf.add_argument("--tasks", type=int, default=0, help="seed this many realistic tasks")
    pf.add_argument("--rate-limit", type=int, default=None, help="max requests per second")
    pf.set_defaults(build=_peopleforce)

    jira = sub.add_parser(
        "jira",
        help="fake Jira Cloud REST v3 with admin webhooks",
        description="Serve a fake Jira Cloud REST API v3 at the root, like a Jira site.",
        epilog=f"Defaults: basic auth {JIRA_DEFAULT_EMAIL} / {JIRA_DEFAULT_TOKEN}. A gateway "
        "domain's Jira base URL: http://127.0.0.1:9002",
    )
    common(jira, 9002)
    jira.add_argument(
        "--email", default=JIRA_DEFAULT_EMAIL, help="basic-auth email (default: %(default)s)"
    )
    jira.add_argument(
        "--token", default=JIRA_DEFAULT_TOKEN, help="basic-auth API token (default: %(default)s)"
    )
    jira.add_argument("--webhook-url", default=None, help="where issue webhooks are delivered")
    jira.add_argument("--webhook-secret", default=None, help="HMAC secret for X-Hub-Signature")
    jira.set_defaults(build=_jira)

    oidc = sub.add_parser("oidc", help="fake OpenID Connect provider (code flow with PKCE)")
    common(oidc, 9003)
    oidc.add_argument("--client-id", default="gateway", help="registered client id")
    oidc.add_argument("--client-secret", default="gateway-secret", help="its client secret")
    oidc.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="allowed redirect URI (repeatable), e.g. http://127.0.0.1:8000/login/sso/callback",
    )
    oidc.set_defaults(build=_oidc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    app = args.build(args)
    root = f"http://{args.host}:{args.port}"
    base = root + API_PREFIX if args.service == "peopleforce" else root
    print(f"fake {args.service} on {base} (docs: {root}/docs, control: /_fake)", flush=True)
    serve_forever(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
