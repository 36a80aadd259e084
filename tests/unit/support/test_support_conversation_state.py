"""The assistant's conversation state as the chat store keeps it (`domain.state_json` /
`state_of`, a JSON column): every field survives the round trip, and a state stored before a
field existed still loads, with that field's default."""

from __future__ import annotations

import json

from agora.support.conversation import (
    ConversationState,
    Handover,
    PendingAction,
    PendingKind,
    Speaker,
    Turn,
)
from agora.support.domain import state_json, state_of
from agora.support.understanding import Intent

ORDER = "a3c9e1b2-7d44-4f1a-8c2e-1f0e9d8c7b6a"


def test_every_field_survives_the_json_round_trip() -> None:
    state = ConversationState(
        history=(Turn(Speaker.CUSTOMER, "cancel my order"), Turn(Speaker.ASSISTANT, "Which?")),
        pending=PendingAction(PendingKind.CANCEL_ORDER, ORDER, "order a3c9e1b2"),
        handover=Handover.QUEUED,
        tokens_used=120,
        low_confidence_streak=1,
        known_order_ids=(ORDER,),
        known_product_ids=("p-1",),
        focus_order_id=ORDER,
        asked_which_order=Intent.CANCEL_ORDER,
    )
    stored = json.loads(json.dumps(state_json(state)))
    assert stored["asked_which_order"] == "cancel_order"
    assert state_of(stored) == state


def test_a_state_stored_before_the_which_order_question_was_remembered_still_loads() -> None:
    # As the chat store wrote states before the field existed.
    old = {
        "history": [["customer", "cancel my order"], ["assistant", "Which order?"]],
        "pending": None,
        "handover": "assistant",
        "tokens_used": 0,
        "low_confidence_streak": 0,
        "known_order_ids": [ORDER],
        "known_product_ids": [],
        "focus_order_id": None,
    }
    state = state_of(old)
    assert state.asked_which_order is None
    assert state.known_order_ids == (ORDER,)
    assert state.history[1] == Turn(Speaker.ASSISTANT, "Which order?")
