"""Idempotency keys: what makes two requests "the same", and which keys are acceptable."""

from __future__ import annotations

import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.wrappers_pb2 import BytesValue, StringValue

from agora.platform.errors import InvalidArgument
from agora.platform.idempotency import MAX_KEY_LENGTH, request_hash, require_idempotency_key


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
