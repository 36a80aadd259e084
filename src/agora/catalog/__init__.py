"""The catalog service: products, variants, categories, prices, stock and reservations."""
