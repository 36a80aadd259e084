"""`agora bench`: load and measure a running Agora stack."""
