"""An error that echoes a huge input stays small on the wire (issue 8, finding 9): status
messages and details travel as trailers, and an oversized trailer is a transport failure."""

from __future__ import annotations

from agora.platform.errors import FieldViolation, InvalidArgument, NotFound
from agora.platform.rpc.status import to_rpc_status


def test_a_not_found_naming_a_100000_character_id_stays_under_2_kib() -> None:
    huge = "a" * 100_000
    status = to_rpc_status(NotFound("product", huge))
    assert len(status.SerializeToString()) < 2_048
    assert len(status.message) <= 500


def test_thousands_of_long_violations_stay_under_4_kib() -> None:
    violations = [FieldViolation("x" * 5_000, "y" * 5_000) for _ in range(5_000)]
    status = to_rpc_status(InvalidArgument("bad", violations))
    assert len(status.SerializeToString()) < 4_096
