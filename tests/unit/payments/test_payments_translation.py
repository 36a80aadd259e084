"""Protobuf <-> domain: amounts given as decimal strings, currency codes as callers write them,
the currency list."""

from __future__ import annotations

import pytest

from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora.payments.translation import (
    currencies_pb,
    currency_code,
    invoice_payment_pb,
    parse_amount,
)
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import CURRENCIES


@pytest.mark.parametrize("text", ["-1", "1.5", "", "abc", "²", "1" * 79])
def test_amounts_are_non_negative_integers(text: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_amount(text, "amount")
    assert [v.field for v in error.value.violations] == ["amount"]


def test_amounts_parse_beyond_int64() -> None:
    assert parse_amount("250000000000000000000000", "amount") == 25 * 10**22


def test_currency_codes_are_read_as_the_kernel_table_writes_them() -> None:
    assert currency_code(" usdt ") == "USDT"


def test_every_currency_is_listed_once_iso_before_crypto() -> None:
    listed = currencies_pb()
    assert len({c.code for c in listed}) == len(listed) == len(CURRENCIES)
    assert [c.crypto for c in listed] == sorted(c.crypto for c in listed)
    assert [(c.code, c.exponent) for c in listed if c.crypto] == [("AGT", 18), ("USDT", 6)]


def test_the_payment_view_counts_confirmations_of_the_least_confirmed_credited_payment() -> None:
    def payment(confirmations: int, status: int) -> pb.Payment:
        return pb.Payment(reference=str(confirmations), confirmations=confirmations, status=status)

    invoice = pb.Invoice(
        id="i-1",
        confirmations_required=3,
        payments=[
            payment(5, pb.PAYMENT_STATUS_CREDITED),
            payment(2, pb.PAYMENT_STATUS_CREDITED),
            payment(0, pb.PAYMENT_STATUS_FLAGGED),
            payment(1, pb.PAYMENT_STATUS_WITHDRAWN),
        ],
    )

    view = invoice_payment_pb(invoice)

    assert (view.confirmations, view.confirmations_required) == (2, 3)
    assert invoice_payment_pb(pb.Invoice(id="i-2")).confirmations == 0
