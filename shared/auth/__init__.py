"""Accounts, tenants, roles and tokens."""
