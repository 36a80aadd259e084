"""Orders: carts, checkout, the event-sourced order and its read models."""
