"""Loads and saves conversations and their messages (SQLAlchemy Core, statements built from
`tables.py`). Decides nothing: `domain.py` has decided before a record reaches here. Writes take
the session of the caller's transaction; reads an autocommit connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.support.conversation import Speaker
from agora.support.domain import (
    Conversation,
    Participant,
    Party,
    Status,
    StoredMessage,
    state_json,
    state_of,
)
from agora.support.tables import conversations, messages

Db = AsyncConnection | AsyncSession

_MESSAGE_COUNT = (
    sa.select(sa.func.count())
    .where(messages.c.conversation_id == conversations.c.id)
    .scalar_subquery()
    .label("message_count")
)


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row.id,
        customer_id=row.customer_id,
        order_id=row.order_id,
        status=Status(row.handover),
        reason=row.handover_reason,
        handover_at=row.handover_at,
        handed_over=row.handed_over,
        staff_id=row.staff_id,
        state=state_of(row.state),
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        answering_since=row.answering_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_answer_at=row.first_answer_at,
        closed_at=row.closed_at,
    )


def _row(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "customer_id": conversation.customer_id,
        "order_id": conversation.order_id,
        "handover": conversation.status.value,
        "handover_reason": conversation.reason,
        "handover_at": conversation.handover_at,
        "handed_over": conversation.handed_over,
        "staff_id": conversation.staff_id,
        "state": state_json(conversation.state),
        "tokens_in": conversation.tokens_in,
        "tokens_out": conversation.tokens_out,
        "answering_since": conversation.answering_since,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "first_answer_at": conversation.first_answer_at,
        "closed_at": conversation.closed_at,
    }


def _message(row: Any) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        speaker=Speaker(row.speaker),
        text=row.text,
        client_message_id=row.client_message_id,
        created_at=row.created_at,
        cancelled=row.cancelled,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        model=row.model,
    )


async def add_conversation(session: AsyncSession, conversation: Conversation) -> None:
    await session.execute(sa.insert(conversations).values(**_row(conversation)))


async def conversation(db: Db, id: str, *, lock: bool = False) -> Conversation | None:
    query = sa.select(conversations).where(conversations.c.id == id)
    row = (await db.execute(query.with_for_update() if lock else query)).first()
    return None if row is None else _conversation(row)


async def save_conversation(session: AsyncSession, conversation: Conversation) -> None:
    values = _row(conversation)
    del values["id"]
    await session.execute(
        sa.update(conversations).where(conversations.c.id == conversation.id).values(**values)
    )


async def add_message(session: AsyncSession, message: StoredMessage) -> bool:
    """Store `message`; False when a message with its client id was stored before."""
    values = asdict(message)
    values["speaker"] = message.speaker.value
    statement = (
        insert(messages)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[messages.c.conversation_id, messages.c.client_message_id],
            index_where=sa.text("speaker <> 'assistant' AND client_message_id IS NOT NULL"),
        )
        .returning(messages.c.id)
    )
    return (await session.execute(statement)).first() is not None


async def said(db: Db, conversation_id: str, client_message_id: str) -> list[StoredMessage]:
    """The message with this client id and the answer to it, if any, oldest first."""
    rows = await db.execute(
        sa.select(messages)
        .where(
            messages.c.conversation_id == conversation_id,
            messages.c.client_message_id == client_message_id,
        )
        .order_by(messages.c.created_at, messages.c.id)
    )
    return [_message(row) for row in rows]


async def message(db: Db, id: str) -> StoredMessage | None:
    row = (await db.execute(sa.select(messages).where(messages.c.id == id))).first()
    return None if row is None else _message(row)


async def latest_messages(db: Db, conversation_id: str, limit: int) -> list[StoredMessage]:
    """The conversation's latest `limit` messages, oldest first."""
    rows = await db.execute(
        sa.select(messages)
        .where(messages.c.conversation_id == conversation_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )
    return [_message(row) for row in reversed(list(rows))]


async def recent_messages(
    db: Db, conversation_id: str, participant: Participant, since: datetime
) -> tuple[int, int]:
    """How many messages the participant's side sent since `since`: in this conversation, and
    in all the sender's conversations (a customer's, a guest's order's, a staff member's)."""
    speaker = participant.speaker.value
    recent = sa.and_(messages.c.speaker == speaker, messages.c.created_at >= since)
    here = sa.select(sa.func.count()).where(recent, messages.c.conversation_id == conversation_id)
    owner = {
        Party.CUSTOMER: conversations.c.customer_id == participant.subject,
        Party.GUEST: conversations.c.order_id == participant.order_id,
        Party.STAFF: conversations.c.staff_id == participant.subject,
    }[participant.party]
    everywhere = (
        sa.select(sa.func.count())
        .select_from(messages.join(conversations, messages.c.conversation_id == conversations.c.id))
        .where(recent, owner)
    )
    in_conversation = (await db.execute(here)).scalar_one()
    by_sender = (await db.execute(everywhere)).scalar_one()
    return int(in_conversation), int(by_sender)


async def message_count(db: Db, conversation_id: str) -> int:
    query = sa.select(sa.func.count()).where(messages.c.conversation_id == conversation_id)
    return int((await db.execute(query)).scalar_one())


async def list_conversations(
    db: Db, status: Status | None, after: Sequence[str | int] | None, limit: int
) -> list[tuple[Conversation, int]]:
    """A page of conversations with their message counts: of one state oldest first by when
    they entered it (the queue), or all newest first. `after` is the last row's (microseconds
    since the epoch, id)."""
    epoch_us = sa.cast(
        sa.func.floor(sa.extract("epoch", conversations.c.handover_at) * 1_000_000), sa.BigInteger
    )
    created_us = sa.cast(
        sa.func.floor(sa.extract("epoch", conversations.c.created_at) * 1_000_000), sa.BigInteger
    )
    query = sa.select(conversations, _MESSAGE_COUNT).limit(limit)
    if status is not None:
        query = query.where(conversations.c.handover == status.value).order_by(
            epoch_us, conversations.c.id
        )
        if after is not None:
            query = query.where(sa.tuple_(epoch_us, conversations.c.id) > tuple(after))
    else:
        query = query.order_by(created_us.desc(), conversations.c.id.desc())
        if after is not None:
            query = query.where(sa.tuple_(created_us, conversations.c.id) < tuple(after))
    rows = await db.execute(query)
    return [(_conversation(row), int(row.message_count)) for row in rows]


async def idle_conversations(
    session: AsyncSession, before: datetime, limit: int
) -> list[Conversation]:
    """Open conversations nobody spoke in since `before`, claimed for closing."""
    rows = await session.execute(
        sa.select(conversations)
        .where(conversations.c.handover != Status.CLOSED.value, conversations.c.updated_at < before)
        .order_by(conversations.c.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_conversation(row) for row in rows]


async def delete_closed(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` conversations closed before `before`, with their messages."""
    doomed = (
        sa.select(conversations.c.id)
        .where(conversations.c.handover == Status.CLOSED.value, conversations.c.closed_at < before)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        sa.delete(conversations).where(conversations.c.id.in_(doomed)).returning(conversations.c.id)
    )
    return len(result.all())
