"""The support service's events: their subjects, and recording them in the outbox of the
caller's transaction (the relay publishes them to the SUPPORT stream after commit).

The recommendations publish none: they only consume (consumers.py).
"""

from __future__ import annotations

PRODUCER = "support"
