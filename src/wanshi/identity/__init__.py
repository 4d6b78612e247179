"""Accounts, role grants and authentication. Staff accounts first; issue #4 adds citizens and OIDC."""
