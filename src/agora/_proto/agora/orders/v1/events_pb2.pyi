from agora._proto.agora.orders.v1 import orders_pb2 as _orders_pb2
from agora._proto.agora.types.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderPlaced(_message.Message):
    __slots__ = ("order_id", "cart_id", "customer_id", "currency", "lines", "totals", "shipping_address", "shipping_method", "reservation_id", "pay_currency")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    cart_id: str
    customer_id: str
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[_orders_pb2.OrderLine]
    totals: _orders_pb2.Totals
    shipping_address: _orders_pb2.Address
    shipping_method: _orders_pb2.ShippingMethod
    reservation_id: str
    pay_currency: str
    def __init__(self, order_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_orders_pb2.OrderLine, _Mapping]]] = ..., totals: _Optional[_Union[_orders_pb2.Totals, _Mapping]] = ..., shipping_address: _Optional[_Union[_orders_pb2.Address, _Mapping]] = ..., shipping_method: _Optional[_Union[_orders_pb2.ShippingMethod, _Mapping]] = ..., reservation_id: _Optional[str] = ..., pay_currency: _Optional[str] = ...) -> None: ...

class OrderAwaitingPayment(_message.Message):
    __slots__ = ("order_id", "invoice_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    invoice_id: str
    def __init__(self, order_id: _Optional[str] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class OrderPaid(_message.Message):
    __slots__ = ("order_id", "invoice_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    invoice_id: str
    def __init__(self, order_id: _Optional[str] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class OrderPaymentAtRisk(_message.Message):
    __slots__ = ("order_id", "invoice_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    invoice_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class OrderPaymentRestored(_message.Message):
    __slots__ = ("order_id", "invoice_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    invoice_id: str
    def __init__(self, order_id: _Optional[str] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class OrderLinesFulfilled(_message.Message):
    __slots__ = ("order_id", "lines")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    lines: _containers.RepeatedCompositeFieldContainer[FulfilledLine]
    def __init__(self, order_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[FulfilledLine, _Mapping]]] = ...) -> None: ...

class FulfilledLine(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class OrderFulfilled(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class OrderShipped(_message.Message):
    __slots__ = ("order_id", "carrier", "tracking_number", "tracking_url")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    def __init__(self, order_id: _Optional[str] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., tracking_url: _Optional[str] = ...) -> None: ...

class OrderDelivered(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class OrderCancelled(_message.Message):
    __slots__ = ("order_id", "reason", "reservation_id", "after_payment")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_PAYMENT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    reservation_id: str
    after_payment: bool
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ..., reservation_id: _Optional[str] = ..., after_payment: _Optional[bool] = ...) -> None: ...

class OrderExpired(_message.Message):
    __slots__ = ("order_id", "reason", "reservation_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    reservation_id: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class OrderRefunded(_message.Message):
    __slots__ = ("order_id", "amount", "full", "refund_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    amount: _money_pb2.Money
    full: bool
    refund_id: str
    def __init__(self, order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., full: _Optional[bool] = ..., refund_id: _Optional[str] = ...) -> None: ...

class ReturnRequested(_message.Message):
    __slots__ = ("return_id", "order_id", "customer_id", "lines", "reason")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    order_id: str
    customer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[_orders_pb2.ReturnLine]
    reason: str
    def __init__(self, return_id: _Optional[str] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_orders_pb2.ReturnLine, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class ReturnApproved(_message.Message):
    __slots__ = ("return_id", "order_id", "customer_id", "reason")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    order_id: str
    customer_id: str
    reason: str
    def __init__(self, return_id: _Optional[str] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReturnRejected(_message.Message):
    __slots__ = ("return_id", "order_id", "customer_id", "reason")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    order_id: str
    customer_id: str
    reason: str
    def __init__(self, return_id: _Optional[str] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
