import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from agora._proto.agora.types.v1 import money_pb2 as _money_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvoiceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_STATUS_UNSPECIFIED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_NEW: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PROCESSING: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_SETTLED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_EXPIRED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_INVALID: _ClassVar[InvoiceStatus]

class PaymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATUS_UNSPECIFIED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_CREDITED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_WITHDRAWN: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_FLAGGED: _ClassVar[PaymentStatus]

class DevPayAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEV_PAY_ACTION_UNSPECIFIED: _ClassVar[DevPayAction]
    DEV_PAY_ACTION_PAY_FULL: _ClassVar[DevPayAction]
    DEV_PAY_ACTION_PAY_PARTIAL: _ClassVar[DevPayAction]
    DEV_PAY_ACTION_PAY_OVER: _ClassVar[DevPayAction]
    DEV_PAY_ACTION_PAY_LATE: _ClassVar[DevPayAction]
    DEV_PAY_ACTION_DECLINE: _ClassVar[DevPayAction]
INVOICE_STATUS_UNSPECIFIED: InvoiceStatus
INVOICE_STATUS_NEW: InvoiceStatus
INVOICE_STATUS_PROCESSING: InvoiceStatus
INVOICE_STATUS_SETTLED: InvoiceStatus
INVOICE_STATUS_EXPIRED: InvoiceStatus
INVOICE_STATUS_INVALID: InvoiceStatus
PAYMENT_STATUS_UNSPECIFIED: PaymentStatus
PAYMENT_STATUS_CREDITED: PaymentStatus
PAYMENT_STATUS_WITHDRAWN: PaymentStatus
PAYMENT_STATUS_FLAGGED: PaymentStatus
DEV_PAY_ACTION_UNSPECIFIED: DevPayAction
DEV_PAY_ACTION_PAY_FULL: DevPayAction
DEV_PAY_ACTION_PAY_PARTIAL: DevPayAction
DEV_PAY_ACTION_PAY_OVER: DevPayAction
DEV_PAY_ACTION_PAY_LATE: DevPayAction
DEV_PAY_ACTION_DECLINE: DevPayAction

class ExchangeRate(_message.Message):
    __slots__ = ("base", "quote", "rate", "source", "as_of")
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    base: str
    quote: str
    rate: str
    source: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, base: _Optional[str] = ..., quote: _Optional[str] = ..., rate: _Optional[str] = ..., source: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("reference", "amount", "confirmations", "received_at", "late", "status", "flags")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    amount: _money_pb2.CryptoAmount
    confirmations: int
    received_at: _timestamp_pb2.Timestamp
    late: bool
    status: PaymentStatus
    flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reference: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., confirmations: _Optional[int] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., late: _Optional[bool] = ..., status: _Optional[_Union[PaymentStatus, str]] = ..., flags: _Optional[_Iterable[str]] = ...) -> None: ...

class CryptoPayment(_message.Message):
    __slots__ = ("invoice_id", "pay_currency", "pay_to", "reference", "amount", "confirmations", "status", "flags", "received_at")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAY_TO_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    pay_currency: str
    pay_to: str
    reference: str
    amount: _money_pb2.CryptoAmount
    confirmations: int
    status: PaymentStatus
    flags: _containers.RepeatedScalarFieldContainer[str]
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, invoice_id: _Optional[str] = ..., pay_currency: _Optional[str] = ..., pay_to: _Optional[str] = ..., reference: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., confirmations: _Optional[int] = ..., status: _Optional[_Union[PaymentStatus, str]] = ..., flags: _Optional[_Iterable[str]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("id", "amount", "reason", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount: _money_pb2.CryptoAmount
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentInstructions(_message.Message):
    __slots__ = ("provider", "pay_to", "amount", "memo")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PAY_TO_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    provider: str
    pay_to: str
    amount: _money_pb2.CryptoAmount
    memo: str
    def __init__(self, provider: _Optional[str] = ..., pay_to: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., memo: _Optional[str] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("id", "reference", "status", "price", "pay_currency", "rate", "due", "accepted_minimum", "payment_tolerance_bp", "paid", "refunded", "paid_partial", "paid_late", "paid_over", "provider", "confirmations_required", "instructions", "payments", "refunds", "expires_at", "created_at", "version", "customer_id", "refund_due", "has_flagged_payments")
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_MINIMUM_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TOLERANCE_BP_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    PAID_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    PAID_LATE_FIELD_NUMBER: _ClassVar[int]
    PAID_OVER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_DUE_FIELD_NUMBER: _ClassVar[int]
    HAS_FLAGGED_PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference: str
    status: InvoiceStatus
    price: _money_pb2.Money
    pay_currency: str
    rate: ExchangeRate
    due: _money_pb2.CryptoAmount
    accepted_minimum: _money_pb2.CryptoAmount
    payment_tolerance_bp: int
    paid: _money_pb2.CryptoAmount
    refunded: _money_pb2.CryptoAmount
    paid_partial: bool
    paid_late: bool
    paid_over: bool
    provider: str
    confirmations_required: int
    instructions: PaymentInstructions
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    refunds: _containers.RepeatedCompositeFieldContainer[Refund]
    expires_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    version: int
    customer_id: str
    refund_due: _money_pb2.CryptoAmount
    has_flagged_payments: bool
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., status: _Optional[_Union[InvoiceStatus, str]] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pay_currency: _Optional[str] = ..., rate: _Optional[_Union[ExchangeRate, _Mapping]] = ..., due: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., accepted_minimum: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., payment_tolerance_bp: _Optional[int] = ..., paid: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., refunded: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., paid_partial: _Optional[bool] = ..., paid_late: _Optional[bool] = ..., paid_over: _Optional[bool] = ..., provider: _Optional[str] = ..., confirmations_required: _Optional[int] = ..., instructions: _Optional[_Union[PaymentInstructions, _Mapping]] = ..., payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., refunds: _Optional[_Iterable[_Union[Refund, _Mapping]]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., customer_id: _Optional[str] = ..., refund_due: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., has_flagged_payments: _Optional[bool] = ...) -> None: ...

class InvoicePayment(_message.Message):
    __slots__ = ("id", "status", "price", "pay_currency", "due", "accepted_minimum", "paid", "confirmations_required", "instructions", "expires_at", "confirmations")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_MINIMUM_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: InvoiceStatus
    price: _money_pb2.Money
    pay_currency: str
    due: _money_pb2.CryptoAmount
    accepted_minimum: _money_pb2.CryptoAmount
    paid: _money_pb2.CryptoAmount
    confirmations_required: int
    instructions: PaymentInstructions
    expires_at: _timestamp_pb2.Timestamp
    confirmations: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[InvoiceStatus, str]] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pay_currency: _Optional[str] = ..., due: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., accepted_minimum: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., paid: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., confirmations_required: _Optional[int] = ..., instructions: _Optional[_Union[PaymentInstructions, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confirmations: _Optional[int] = ...) -> None: ...

class CreateInvoiceRequest(_message.Message):
    __slots__ = ("idempotency_key", "reference", "price", "pay_currency", "expires_in_seconds", "payment_tolerance_bp", "provider", "customer_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TOLERANCE_BP_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    reference: str
    price: _money_pb2.Money
    pay_currency: str
    expires_in_seconds: int
    payment_tolerance_bp: int
    provider: str
    customer_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., reference: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pay_currency: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ..., payment_tolerance_bp: _Optional[int] = ..., provider: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetInvoicePaymentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices",)
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ...) -> None: ...

class CancelInvoiceRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class RefundInvoiceRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "amount", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    amount: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., amount: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "refund")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    refund: Refund
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., refund: _Optional[_Union[Refund, _Mapping]] = ...) -> None: ...

class SetExchangeRateRequest(_message.Message):
    __slots__ = ("idempotency_key", "base", "quote", "rate")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    base: str
    quote: str
    rate: str
    def __init__(self, idempotency_key: _Optional[str] = ..., base: _Optional[str] = ..., quote: _Optional[str] = ..., rate: _Optional[str] = ...) -> None: ...

class GetExchangeRateRequest(_message.Message):
    __slots__ = ("base", "quote")
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    base: str
    quote: str
    def __init__(self, base: _Optional[str] = ..., quote: _Optional[str] = ...) -> None: ...

class ImportEcbRatesRequest(_message.Message):
    __slots__ = ("idempotency_key",)
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ...) -> None: ...

class ImportEcbRatesResponse(_message.Message):
    __slots__ = ("rates",)
    RATES_FIELD_NUMBER: _ClassVar[int]
    rates: _containers.RepeatedCompositeFieldContainer[ExchangeRate]
    def __init__(self, rates: _Optional[_Iterable[_Union[ExchangeRate, _Mapping]]] = ...) -> None: ...

class Currency(_message.Message):
    __slots__ = ("code", "exponent", "crypto")
    CODE_FIELD_NUMBER: _ClassVar[int]
    EXPONENT_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_FIELD_NUMBER: _ClassVar[int]
    code: str
    exponent: int
    crypto: bool
    def __init__(self, code: _Optional[str] = ..., exponent: _Optional[int] = ..., crypto: _Optional[bool] = ...) -> None: ...

class ListCurrenciesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCurrenciesResponse(_message.Message):
    __slots__ = ("currencies",)
    CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    currencies: _containers.RepeatedCompositeFieldContainer[Currency]
    def __init__(self, currencies: _Optional[_Iterable[_Union[Currency, _Mapping]]] = ...) -> None: ...

class DevPayRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "action", "amount")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    action: DevPayAction
    amount: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., action: _Optional[_Union[DevPayAction, str]] = ..., amount: _Optional[str] = ...) -> None: ...

class DevPayResponse(_message.Message):
    __slots__ = ("invoice", "declined", "payment_reference", "payment")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    declined: bool
    payment_reference: str
    payment: InvoicePayment
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., declined: _Optional[bool] = ..., payment_reference: _Optional[str] = ..., payment: _Optional[_Union[InvoicePayment, _Mapping]] = ...) -> None: ...

class ListCryptoPaymentsRequest(_message.Message):
    __slots__ = ("since", "until", "page_size", "page_token")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCryptoPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[CryptoPayment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[CryptoPayment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
