"""Idempotency keys: what makes two requests "the same", and which keys are acceptable."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.wrappers_pb2 import BytesValue, StringValue

from agora.platform.errors import InvalidArgument
from agora.platform.idempotency import (
    MAX_KEY_LENGTH,
    Capability,
    key_scope,
    lock_id,
    request_hash,
    require_idempotency_key,
    require_unguessable_key,
)
from agora.platform.security.principal import ANONYMOUS, Principal


def test_equal_requests_hash_equal_regardless_of_map_order() -> None:
    first, second = Struct(), Struct()
    first.update({"a": 1, "b": 2, "c": 3})
    second.update({"c": 3, "b": 2, "a": 1})
    assert request_hash(first) == request_hash(second)


def test_a_changed_field_changes_the_hash() -> None:
    assert request_hash(StringValue(value="a")) != request_hash(StringValue(value="b"))


def test_same_bytes_of_another_message_type_hash_differently() -> None:
    assert request_hash(StringValue(value="a")) != request_hash(BytesValue(value=b"a"))


@pytest.mark.parametrize("key", ["", "   ", "k" * (MAX_KEY_LENGTH + 1)])
def test_a_missing_or_oversized_key_names_idempotency_key(key: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        require_idempotency_key(key)
    assert [v.field for v in error.value.violations] == ["idempotencyKey"]


def test_a_reasonable_key_is_accepted_as_is() -> None:
    assert require_idempotency_key("order-42:reserve") == "order-42:reserve"


GUEST = ANONYMOUS
ADA = Principal(subject="user-ada", kind="user")
ORDERS = Principal(subject="service:orders", kind="service")
CART = Capability("cart", "tok-ada")


@pytest.mark.parametrize(
    "key",
    [
        "cart-1",
        "1",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        uuid.uuid4().hex,  # a UUID, but not in its canonical text
        "{" + str(uuid.uuid4()) + "}",
        "urn:uuid:" + str(uuid.uuid4()),
    ],
)
def test_a_short_or_guessable_key_is_refused_where_a_uuid_is_needed(key: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        require_unguessable_key(key)
    assert [v.field for v in error.value.violations] == ["idempotencyKey"]


@pytest.mark.parametrize(
    "key",
    [
        str(uuid.uuid4()),
        str(uuid.uuid1()),
        str(uuid.uuid4()).upper(),
        "01932c07-a7c0-7b52-8f3e-9d4c1a2b3c4d",
    ],
)
def test_a_uuid_of_any_version_in_canonical_text_is_unguessable_enough(key: str) -> None:
    assert require_unguessable_key(key) == key


def test_a_guest_with_nothing_to_act_on_needs_a_uuid_key() -> None:
    assert key_scope(GUEST, guest_capability=None).needs_unguessable_key
    assert key_scope(GUEST, guest_capability=Capability("cart", "")).needs_unguessable_key


def test_users_services_and_guests_holding_a_capability_may_choose_their_keys() -> None:
    assert not key_scope(ADA, guest_capability=None).needs_unguessable_key
    assert not key_scope(ORDERS, guest_capability=None).needs_unguessable_key
    assert not key_scope(GUEST, guest_capability=CART).needs_unguessable_key


def test_every_caller_and_capability_has_a_scope_of_its_own() -> None:
    scopes = [
        key_scope(ADA, guest_capability=None),
        key_scope(Principal(subject="user-bob", kind="user"), guest_capability=None),
        key_scope(ORDERS, guest_capability=None),
        key_scope(GUEST, guest_capability=None),
        key_scope(GUEST, guest_capability=CART),
        key_scope(GUEST, guest_capability=Capability("cart", "tok-bob")),
        key_scope(GUEST, guest_capability=Capability("order", "tok-ada")),
    ]
    assert len({scope.digest for scope in scopes}) == len(scopes)


def test_a_user_keeps_one_scope_whatever_they_act_on() -> None:
    assert key_scope(ADA, guest_capability=CART) == key_scope(ADA, guest_capability=None)


def test_the_scope_stores_a_digest_not_the_capability() -> None:
    digest = key_scope(GUEST, guest_capability=CART).digest
    assert len(digest) == 32
    assert b"tok-ada" not in digest


def test_the_lock_of_a_key_differs_per_operation_scope_and_key() -> None:
    ada, guest = key_scope(ADA, guest_capability=None), key_scope(GUEST, guest_capability=CART)
    locks = {
        lock_id("orders.PlaceOrder", ada, "k"),
        lock_id("orders.CancelOrder", ada, "k"),
        lock_id("orders.PlaceOrder", guest, "k"),
        lock_id("orders.PlaceOrder", ada, "k2"),
    }
    assert len(locks) == 4
    assert all(-(2**63) <= lock < 2**63 for lock in locks)
