"""Who is calling: token verification, service identity, permissions (docs/adr/0007)."""
