"""Audit entries take their actor and origin from the call being served (docs/adr/0007)."""

from __future__ import annotations

import contextvars
import json
from datetime import UTC, datetime

import pytest

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora.platform.audit import audit_entry, audit_subject
from agora.platform.logging import bind_request_id
from agora.platform.security.origin import Origin, coming_from, origin_of
from agora.platform.security.principal import Principal, acting_as

STAFF = Principal(
    subject="5d2f0c1e-9a8b-4c7d-8e6f-5a4b3c2d1e0f",
    kind="user",
    roles=frozenset({"staff"}),
    permissions=frozenset({"catalog:stock:write"}),
    session_id="session-1",
)


def test_an_entry_names_the_principal_its_origin_and_the_request() -> None:
    def served() -> AuditEntry:
        bind_request_id("req-42")
        with acting_as(STAFF), coming_from(Origin("198.51.100.7", "curl/8")):
            return audit_entry(
                service="catalog",
                action="stock_set",
                target_type="variant",
                target_id="v-1",
                before=cpb.Stock(variant_id="v-1", on_hand=3),
                after={"on_hand": 5},
                occurred_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            )

    entry = contextvars.copy_context().run(served)  # the request id stays in this call

    assert entry.action == "catalog.stock_set"
    assert (entry.actor_subject, entry.actor_kind, entry.session_id) == (
        STAFF.subject,
        "user",
        "session-1",
    )
    assert (entry.client_ip, entry.user_agent, entry.request_id) == (
        "198.51.100.7",
        "curl/8",
        "req-42",
    )
    assert json.loads(entry.before_json)["on_hand"] == "3"
    assert json.loads(entry.after_json) == {"on_hand": 5}
    assert entry.outcome == "success"
    assert entry.occurred_at.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_outside_a_call_the_actor_is_anonymous() -> None:
    entry = audit_entry(service="auth", action="login", target_type="user", target_id="u-1")

    assert (entry.actor_subject, entry.actor_kind) == ("", "anonymous")
    assert entry.before_json == entry.after_json == ""


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        audit_entry(
            service="auth",
            action="login",
            target_type="user",
            target_id="u-1",
            outcome="maybe",  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("service", "action"), [("catalog", "prices.set"), ("Catalog", "x"), ("catalog", "a>")]
)
def test_service_and_action_must_be_single_subject_tokens(service: str, action: str) -> None:
    with pytest.raises(ValueError, match="audit"):
        audit_subject(service, action)


def test_the_subject_is_audit_service_action() -> None:
    assert audit_subject("catalog", "prices_set") == "audit.catalog.prices_set"


@pytest.mark.parametrize(
    ("metadata", "peer", "expected"),
    [
        (
            [("x-agora-client-ip", "203.0.113.5"), ("x-agora-user-agent", "Safari")],
            None,
            Origin("203.0.113.5", "Safari"),
        ),
        ([], "ipv4:127.0.0.1:50123", Origin("127.0.0.1", "")),
        ([], "ipv6:[::1]:50123", Origin("::1", "")),
        (
            [("x-agora-client-ip", "not an ip; drop table")],
            "ipv4:10.0.0.2:1",
            Origin("10.0.0.2", ""),
        ),
    ],
    ids=["edge-headers", "ipv4-peer", "ipv6-peer", "bad-header"],
)
def test_from_the_gateway_the_origin_is_what_it_reports_else_the_peer(
    metadata: list[tuple[str, str]], peer: str | None, expected: Origin
) -> None:
    assert origin_of(metadata, peer, from_gateway=True) == expected


def test_from_anyone_else_the_reported_origin_is_ignored_for_the_peer() -> None:
    reported = [("x-agora-client-ip", "203.0.113.5"), ("x-agora-user-agent", "Safari")]

    assert origin_of(reported, "ipv4:10.0.0.2:1", from_gateway=False) == Origin("10.0.0.2", "")
