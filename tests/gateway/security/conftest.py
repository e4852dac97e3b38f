"""The admin surface's fixtures (app client, accounts, tokens), shared with these tests."""

from tests.gateway.admin.conftest import admin, admin_user, api_token, bearer, client

__all__ = ["admin", "admin_user", "api_token", "bearer", "client"]
