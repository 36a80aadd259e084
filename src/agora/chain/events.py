"""The chain service's events: their subjects, and recording them in the outbox of the
caller's transaction (the relay publishes them to the CHAIN stream after commit)."""

from __future__ import annotations

from agora.platform.bus.outbox import Producer

PRODUCER = "chain"

TRANSFER_DETECTED = "chain.transfer.detected"
TRANSFER_CONFIRMED = "chain.transfer.confirmed"
TRANSFER_REORGED = "chain.transfer.reorged"
NETWORK_CHANGED = "chain.network.changed"
SWEEP_COMPLETED = "chain.sweep.completed"
RECONCILIATION_COMPLETED = "chain.reconciliation.completed"
WALLET_REGISTERED = "chain.wallet.registered"
REWARD_GRANTED = "chain.reward.granted"
REFUND_INSTRUCTED = "chain.refund.instructed"
REFUND_SENT = "chain.refund.sent"

# Puts an event in the outbox, in the transaction of the change it announces.
record = Producer(PRODUCER).record
record_many = Producer(PRODUCER).record_many
