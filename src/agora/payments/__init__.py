"""The payments service: invoices, currencies and exchange rates, payment providers, refunds."""
