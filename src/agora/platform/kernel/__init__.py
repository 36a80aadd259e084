"""The shared kernel: value types and checks every service's domain uses (money and currencies,
paging, ids and text, time). Pure: it imports no transport, no database and no broker, so a
domain module may depend on it (the import contract enforces this)."""
