from agora._proto.agora.payments.v1 import payments_pb2 as _payments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvoiceCreated(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoiceProcessing(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoiceSettled(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoiceExpired(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoiceInvalid(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoiceRefunded(_message.Message):
    __slots__ = ("invoice", "refund")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    refund: _payments_pb2.Refund
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ..., refund: _Optional[_Union[_payments_pb2.Refund, _Mapping]] = ...) -> None: ...

class PaymentReceived(_message.Message):
    __slots__ = ("invoice", "payment")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    payment: _payments_pb2.Payment
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ..., payment: _Optional[_Union[_payments_pb2.Payment, _Mapping]] = ...) -> None: ...

class PaymentWithdrawn(_message.Message):
    __slots__ = ("invoice", "payment")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    payment: _payments_pb2.Payment
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ..., payment: _Optional[_Union[_payments_pb2.Payment, _Mapping]] = ...) -> None: ...

class PaymentDeclined(_message.Message):
    __slots__ = ("invoice", "reason")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    invoice: _payments_pb2.Invoice
    reason: str
    def __init__(self, invoice: _Optional[_Union[_payments_pb2.Invoice, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ExchangeRateChanged(_message.Message):
    __slots__ = ("rates",)
    RATES_FIELD_NUMBER: _ClassVar[int]
    rates: _containers.RepeatedCompositeFieldContainer[_payments_pb2.ExchangeRate]
    def __init__(self, rates: _Optional[_Iterable[_Union[_payments_pb2.ExchangeRate, _Mapping]]] = ...) -> None: ...
