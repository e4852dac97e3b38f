"""Single sign-on with OpenID Connect (Google Workspace, Okta, Entra ID, any issuer).

``oidc``: the relying party (discovery, the authorization code flow with PKCE,
id token verification) built on Authlib and joserfc; ``policy``: who may sign in
and with which role; ``accounts``: the local account an SSO sign-in uses, so its
session is an ordinary admin session. Local accounts stay for bootstrap.
"""
