"""``gateway check`` says what ``gateway serve`` would refuse at start-up, with serve's reason."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from gateway.admin.accounts import AccountError, ensure_bootstrap_admin
from gateway.checks import run_checks
from gateway.settings import Settings


def bootstrap_line(settings: Settings) -> tuple[str, bool, str]:
    [line] = [result for result in run_checks(settings) if result[0] == "bootstrap admin"]
    return line


def test_a_too_short_admin_password_fails_the_check_with_serves_reason(
    settings: Settings, engine: Engine
) -> None:
    short = settings.model_copy(
        update={"admin_username": "ops", "admin_password": SecretStr("short")}
    )
    _, passed, detail = bootstrap_line(short)
    assert not passed
    with pytest.raises(AccountError) as refused:
        ensure_bootstrap_admin(engine, short)
    assert detail == f"bootstrap admin not created: {refused.value}"


def test_a_good_admin_password_passes(settings: Settings, engine: Engine) -> None:
    good = settings.model_copy(
        update={"admin_username": "ops", "admin_password": SecretStr("a long passphrase")}
    )
    _, passed, _ = bootstrap_line(good)
    assert passed
    assert ensure_bootstrap_admin(engine, good)


def test_an_existing_account_is_not_created_again_so_its_password_is_unused(
    settings: Settings, engine: Engine
) -> None:
    good = settings.model_copy(
        update={"admin_username": "ops", "admin_password": SecretStr("a long passphrase")}
    )
    assert ensure_bootstrap_admin(engine, good)
    short = good.model_copy(update={"admin_password": SecretStr("short")})
    assert not ensure_bootstrap_admin(engine, short)
    _, passed, _ = bootstrap_line(short)
    assert passed


def test_no_bootstrap_admin_no_line(settings: Settings, engine: Engine) -> None:
    assert not [result for result in run_checks(settings) if result[0] == "bootstrap admin"]
