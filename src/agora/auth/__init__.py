"""The auth service: accounts, credentials, roles, sessions, signing keys, the audit log."""
