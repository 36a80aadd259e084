"""The chat's closing rules (`domain.close_by`): who may close a conversation, and that a
closed one stays as it is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agora.platform.errors import FailedPrecondition
from agora.support.domain import (
    Conversation,
    Participant,
    Party,
    Status,
    close_by,
    new_conversation,
    resolved_by_assistant,
    take_over,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
CUSTOMER = Participant(Party.CUSTOMER, "c-1")
GUEST = Participant(Party.GUEST, order_id="o-1")
ANNA = Participant(Party.STAFF, "s-anna")
BOB = Participant(Party.STAFF, "s-bob")


def queued() -> Conversation:
    return replace(new_conversation("conv", CUSTOMER, T0), status=Status.QUEUED, handed_over=True)


@pytest.mark.parametrize("who", [CUSTOMER, GUEST])
@pytest.mark.parametrize("status", [Status.ASSISTANT, Status.QUEUED, Status.STAFF])
def test_the_customer_or_guest_closes_their_conversation_in_any_open_state(
    who: Participant, status: Status
) -> None:
    conversation = replace(new_conversation("conv", who, T0), status=status)
    closed = close_by(conversation, who, LATER)
    assert (closed.status, closed.closed_at, closed.answering_since) == (Status.CLOSED, LATER, None)


def test_staff_close_only_a_conversation_they_took_over() -> None:
    taken = take_over(queued(), ANNA.subject, T0)
    assert close_by(taken, ANNA, LATER).status is Status.CLOSED
    with pytest.raises(FailedPrecondition):
        close_by(taken, BOB, LATER)
    with pytest.raises(FailedPrecondition):
        close_by(queued(), ANNA, LATER)


def test_closing_a_closed_conversation_changes_nothing() -> None:
    closed = close_by(new_conversation("conv", CUSTOMER, T0), CUSTOMER, LATER)
    assert close_by(closed, CUSTOMER, LATER + timedelta(hours=1)) is closed
    assert close_by(closed, BOB, LATER) is closed


def test_resolved_by_assistant_only_when_answered_and_never_handed_over() -> None:
    answered = replace(new_conversation("conv", CUSTOMER, T0), first_answer_at=T0)
    assert resolved_by_assistant(close_by(answered, CUSTOMER, LATER))
    assert not resolved_by_assistant(close_by(new_conversation("c", CUSTOMER, T0), CUSTOMER, LATER))
    handed = replace(answered, status=Status.QUEUED, handed_over=True)
    assert not resolved_by_assistant(close_by(handed, CUSTOMER, LATER))
