"""The chain service's event consumers, each a durable consumer with an inbox (a redelivered
event changes nothing).

- `RewardGranting` (on orders' ORDERS stream): remembers each placed order's customer and total
  (`orders.order.paid` names the order only), and grants a paid order's loyalty reward once
  (`rewards.grant_order_reward`): a mint to the customer's wallet, or an accrual.
- `refunds.RefundInstructing` (on payments' PAYMENTS stream): an instruction to pay the payer
  back for each refund of an invoice paid on chain.
"""

from __future__ import annotations

from collections.abc import Callable

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as orders_events
from agora.chain import reward_store as store
from agora.chain.loyalty import RewardRule, RewardStatus
from agora.chain.rewards import grant_order_reward
from agora.platform.bus.consumer import EventConsumer, live_only
from agora.platform.bus.envelope import decode
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import datetime_of

ORDERS_STREAM = "ORDERS"
ORDER_PLACED = "orders.order.placed"
ORDER_PAID = "orders.order.paid"
REWARD_GRANTING = "chain-rewards"


class RewardGranting:
    """Grants each paid order's reward (at most once per order: the order id is the key)."""

    name = REWARD_GRANTING
    stream = ORDERS_STREAM
    filter_subjects = [ORDER_PLACED, ORDER_PAID]

    def __init__(self, rule: RewardRule, on_mint: Callable[[], None] = lambda: None) -> None:
        self._rule = rule
        self._on_mint = on_mint

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        if envelope.subject == ORDER_PLACED:
            placed = decode(envelope, orders_events.OrderPlaced)
            total = placed.totals.total
            await store.remember_order(
                session,
                order_id=require_id(placed.order_id, "order_id"),
                customer_id=placed.customer_id,
                total_minor=total.amount_minor,
                currency=total.currency or placed.currency,
                placed_at=datetime_of(envelope.occurred_at),
            )
        elif envelope.subject == ORDER_PAID:
            paid = decode(envelope, orders_events.OrderPaid)
            order_id = require_id(paid.order_id, "order_id")
            reward = await grant_order_reward(session, order_id, self._rule, utcnow())
            if reward is not None and reward.status is RewardStatus.MINTING:
                self._on_mint()


def reward_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    rule: RewardRule,
    *,
    on_mint: Callable[[], None] = lambda: None,
    durable: str = REWARD_GRANTING,
) -> list[EventConsumer]:
    """The durable consumer granting rewards (`on_mint`: the minting job's `wake`)."""
    handler = RewardGranting(rule, on_mint)
    return [
        EventConsumer(
            js,
            sessions,
            stream=handler.stream,
            durable=durable,
            filter_subjects=handler.filter_subjects,
            # Seeded orders were never to be rewarded: their history skips the grant.
            handler=live_only(handler.handle),
        )
    ]
