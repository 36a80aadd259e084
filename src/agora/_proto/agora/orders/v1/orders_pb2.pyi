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

class CartStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CART_STATUS_UNSPECIFIED: _ClassVar[CartStatus]
    CART_STATUS_OPEN: _ClassVar[CartStatus]
    CART_STATUS_ORDERED: _ClassVar[CartStatus]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PLACED: _ClassVar[OrderStatus]
    ORDER_STATUS_AWAITING_PAYMENT: _ClassVar[OrderStatus]
    ORDER_STATUS_PAID: _ClassVar[OrderStatus]
    ORDER_STATUS_FULFILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_SHIPPED: _ClassVar[OrderStatus]
    ORDER_STATUS_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXPIRED: _ClassVar[OrderStatus]
    ORDER_STATUS_REFUNDED: _ClassVar[OrderStatus]

class ReturnStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETURN_STATUS_UNSPECIFIED: _ClassVar[ReturnStatus]
    RETURN_STATUS_REQUESTED: _ClassVar[ReturnStatus]
    RETURN_STATUS_APPROVED: _ClassVar[ReturnStatus]
    RETURN_STATUS_REJECTED: _ClassVar[ReturnStatus]
CART_STATUS_UNSPECIFIED: CartStatus
CART_STATUS_OPEN: CartStatus
CART_STATUS_ORDERED: CartStatus
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PLACED: OrderStatus
ORDER_STATUS_AWAITING_PAYMENT: OrderStatus
ORDER_STATUS_PAID: OrderStatus
ORDER_STATUS_FULFILLED: OrderStatus
ORDER_STATUS_SHIPPED: OrderStatus
ORDER_STATUS_DELIVERED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_EXPIRED: OrderStatus
ORDER_STATUS_REFUNDED: OrderStatus
RETURN_STATUS_UNSPECIFIED: ReturnStatus
RETURN_STATUS_REQUESTED: ReturnStatus
RETURN_STATUS_APPROVED: ReturnStatus
RETURN_STATUS_REJECTED: ReturnStatus

class Address(_message.Message):
    __slots__ = ("name", "line1", "line2", "city", "region", "postal_code", "country", "email", "phone")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINE1_FIELD_NUMBER: _ClassVar[int]
    LINE2_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    email: str
    phone: str
    def __init__(self, name: _Optional[str] = ..., line1: _Optional[str] = ..., line2: _Optional[str] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class Totals(_message.Message):
    __slots__ = ("subtotal", "shipping", "tax", "total", "prices_include_tax", "tax_rate_bp")
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PRICES_INCLUDE_TAX_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    subtotal: _money_pb2.Money
    shipping: _money_pb2.Money
    tax: _money_pb2.Money
    total: _money_pb2.Money
    prices_include_tax: bool
    tax_rate_bp: int
    def __init__(self, subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., shipping: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., prices_include_tax: _Optional[bool] = ..., tax_rate_bp: _Optional[int] = ...) -> None: ...

class CartLine(_message.Message):
    __slots__ = ("variant_id", "product_id", "sku", "title", "quantity", "unit_price", "amount", "tax")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: _money_pb2.Money
    amount: _money_pb2.Money
    tax: _money_pb2.Money
    def __init__(self, variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ShippingMethod(_message.Message):
    __slots__ = ("code", "name", "price")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    price: _money_pb2.Money
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class Cart(_message.Message):
    __slots__ = ("id", "token", "currency", "customer_id", "status", "lines", "shipping_address", "shipping_method", "totals", "expires_at", "order_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    token: str
    currency: str
    customer_id: str
    status: CartStatus
    lines: _containers.RepeatedCompositeFieldContainer[CartLine]
    shipping_address: Address
    shipping_method: ShippingMethod
    totals: Totals
    expires_at: _timestamp_pb2.Timestamp
    order_id: str
    def __init__(self, id: _Optional[str] = ..., token: _Optional[str] = ..., currency: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[CartStatus, str]] = ..., lines: _Optional[_Iterable[_Union[CartLine, _Mapping]]] = ..., shipping_address: _Optional[_Union[Address, _Mapping]] = ..., shipping_method: _Optional[_Union[ShippingMethod, _Mapping]] = ..., totals: _Optional[_Union[Totals, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order_id: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("variant_id", "product_id", "sku", "title", "quantity", "unit_price", "amount", "tax", "fulfilled_quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: _money_pb2.Money
    amount: _money_pb2.Money
    tax: _money_pb2.Money
    fulfilled_quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., fulfilled_quantity: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "cart_id", "customer_id", "status", "currency", "lines", "totals", "shipping_address", "shipping_method", "reservation_id", "invoice_id", "refunded", "carrier", "tracking_number", "closing_reason", "version", "placed_at", "updated_at", "access_token", "pay_currency", "payment_at_risk", "tracking_url")
    ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CLOSING_REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_AT_RISK_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    cart_id: str
    customer_id: str
    status: OrderStatus
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    totals: Totals
    shipping_address: Address
    shipping_method: ShippingMethod
    reservation_id: str
    invoice_id: str
    refunded: _money_pb2.Money
    carrier: str
    tracking_number: str
    closing_reason: str
    version: int
    placed_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    access_token: str
    pay_currency: str
    payment_at_risk: bool
    tracking_url: str
    def __init__(self, id: _Optional[str] = ..., cart_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., totals: _Optional[_Union[Totals, _Mapping]] = ..., shipping_address: _Optional[_Union[Address, _Mapping]] = ..., shipping_method: _Optional[_Union[ShippingMethod, _Mapping]] = ..., reservation_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., refunded: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., closing_reason: _Optional[str] = ..., version: _Optional[int] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., access_token: _Optional[str] = ..., pay_currency: _Optional[str] = ..., payment_at_risk: _Optional[bool] = ..., tracking_url: _Optional[str] = ...) -> None: ...

class OrderSummary(_message.Message):
    __slots__ = ("id", "customer_id", "status", "total", "item_count", "customer_name", "email", "country", "placed_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    status: OrderStatus
    total: _money_pb2.Money
    item_count: int
    customer_name: str
    email: str
    country: str
    placed_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., item_count: _Optional[int] = ..., customer_name: _Optional[str] = ..., email: _Optional[str] = ..., country: _Optional[str] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCartRequest(_message.Message):
    __slots__ = ("idempotency_key", "currency", "customer_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    currency: str
    customer_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., currency: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class GetCartRequest(_message.Message):
    __slots__ = ("cart_token",)
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cart_token: str
    def __init__(self, cart_token: _Optional[str] = ...) -> None: ...

class AddCartLineRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "product_id", "variant_id", "quantity")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    product_id: str
    variant_id: str
    quantity: int
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class UpdateCartLineRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "variant_id", "quantity")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    variant_id: str
    quantity: int
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class RemoveCartLineRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "variant_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    variant_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., variant_id: _Optional[str] = ...) -> None: ...

class SetShippingAddressRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "address")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    address: Address
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., address: _Optional[_Union[Address, _Mapping]] = ...) -> None: ...

class ListShippingMethodsRequest(_message.Message):
    __slots__ = ("cart_token",)
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cart_token: str
    def __init__(self, cart_token: _Optional[str] = ...) -> None: ...

class ListShippingMethodsResponse(_message.Message):
    __slots__ = ("methods",)
    METHODS_FIELD_NUMBER: _ClassVar[int]
    methods: _containers.RepeatedCompositeFieldContainer[ShippingMethod]
    def __init__(self, methods: _Optional[_Iterable[_Union[ShippingMethod, _Mapping]]] = ...) -> None: ...

class SetShippingMethodRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "code")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    code: str
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class PlaceOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "cart_token", "pay_currency")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CART_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cart_token: str
    pay_currency: str
    def __init__(self, idempotency_key: _Optional[str] = ..., cart_token: _Optional[str] = ..., pay_currency: _Optional[str] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("id", "access_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    access_token: str
    def __init__(self, id: _Optional[str] = ..., access_token: _Optional[str] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("customer_id", "page_size", "page_token")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    page_size: int
    page_token: str
    def __init__(self, customer_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderSummary]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetOrderHistoryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class OrderHistoryEntry(_message.Message):
    __slots__ = ("version", "type", "occurred_at", "status")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    version: int
    type: str
    occurred_at: _timestamp_pb2.Timestamp
    status: OrderStatus
    def __init__(self, version: _Optional[int] = ..., type: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ...) -> None: ...

class GetOrderHistoryResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[OrderHistoryEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[OrderHistoryEntry, _Mapping]]] = ...) -> None: ...

class SearchOrdersRequest(_message.Message):
    __slots__ = ("q", "status", "page_size", "page_token", "placed_from", "placed_to")
    Q_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PLACED_FROM_FIELD_NUMBER: _ClassVar[int]
    PLACED_TO_FIELD_NUMBER: _ClassVar[int]
    q: str
    status: OrderStatus
    page_size: int
    page_token: str
    placed_from: str
    placed_to: str
    def __init__(self, q: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., placed_from: _Optional[str] = ..., placed_to: _Optional[str] = ...) -> None: ...

class SearchOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderSummary]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "reason", "access_token")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    reason: str
    access_token: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., reason: _Optional[str] = ..., access_token: _Optional[str] = ...) -> None: ...

class ReturnLineRequest(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class RequestReturnRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "lines", "reason", "access_token")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLineRequest]
    reason: str
    access_token: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReturnLineRequest, _Mapping]]] = ..., reason: _Optional[str] = ..., access_token: _Optional[str] = ...) -> None: ...

class ReturnLine(_message.Message):
    __slots__ = ("variant_id", "title", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    title: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReturnRequest(_message.Message):
    __slots__ = ("id", "order_id", "status", "lines", "reason", "requested_at", "decision_reason", "decided_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    status: ReturnStatus
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLine]
    reason: str
    requested_at: _timestamp_pb2.Timestamp
    decision_reason: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., status: _Optional[_Union[ReturnStatus, str]] = ..., lines: _Optional[_Iterable[_Union[ReturnLine, _Mapping]]] = ..., reason: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_reason: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListReturnRequestsRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: ReturnStatus
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[ReturnStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReturnRequestsResponse(_message.Message):
    __slots__ = ("return_requests", "next_page_token")
    RETURN_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    return_requests: _containers.RepeatedCompositeFieldContainer[ReturnRequest]
    next_page_token: str
    def __init__(self, return_requests: _Optional[_Iterable[_Union[ReturnRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListOrderReturnRequestsRequest(_message.Message):
    __slots__ = ("id", "access_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    access_token: str
    def __init__(self, id: _Optional[str] = ..., access_token: _Optional[str] = ...) -> None: ...

class ListOrderReturnRequestsResponse(_message.Message):
    __slots__ = ("return_requests",)
    RETURN_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    return_requests: _containers.RepeatedCompositeFieldContainer[ReturnRequest]
    def __init__(self, return_requests: _Optional[_Iterable[_Union[ReturnRequest, _Mapping]]] = ...) -> None: ...

class FulfilmentLineRequest(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class FulfilOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "lines")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    lines: _containers.RepeatedCompositeFieldContainer[FulfilmentLineRequest]
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[FulfilmentLineRequest, _Mapping]]] = ...) -> None: ...

class ShipOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "carrier", "tracking_number", "tracking_url")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., tracking_url: _Optional[str] = ...) -> None: ...

class DeliverOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class CancelPaidOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "amount", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    amount: _money_pb2.Money
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class OrderRefund(_message.Message):
    __slots__ = ("id", "invoice_id", "amount", "pay_amount", "full")
    ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAY_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    id: str
    invoice_id: str
    amount: _money_pb2.Money
    pay_amount: _money_pb2.CryptoAmount
    full: bool
    def __init__(self, id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pay_amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., full: _Optional[bool] = ...) -> None: ...

class RefundOrderResponse(_message.Message):
    __slots__ = ("order", "refund")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    order: Order
    refund: OrderRefund
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., refund: _Optional[_Union[OrderRefund, _Mapping]] = ...) -> None: ...

class ApproveReturnRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "return_id", "reason", "refund")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    return_id: str
    reason: str
    refund: _money_pb2.Money
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., return_id: _Optional[str] = ..., reason: _Optional[str] = ..., refund: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class RejectReturnRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "return_id", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    return_id: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., return_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReturnDecision(_message.Message):
    __slots__ = ("return_request", "reason", "refund", "order")
    RETURN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    return_request: ReturnRequest
    reason: str
    refund: OrderRefund
    order: Order
    def __init__(self, return_request: _Optional[_Union[ReturnRequest, _Mapping]] = ..., reason: _Optional[str] = ..., refund: _Optional[_Union[OrderRefund, _Mapping]] = ..., order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...
