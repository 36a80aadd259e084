import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOCK_LEVEL_UNSPECIFIED: _ClassVar[StockLevel]
    STOCK_LEVEL_LOW: _ClassVar[StockLevel]
    STOCK_LEVEL_OUT: _ClassVar[StockLevel]
STOCK_LEVEL_UNSPECIFIED: StockLevel
STOCK_LEVEL_LOW: StockLevel
STOCK_LEVEL_OUT: StockLevel

class AnalyticsQuery(_message.Message):
    __slots__ = ("start_date", "end_date", "granularity", "currency")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    granularity: str
    currency: str
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., granularity: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class ReportCurrency(_message.Message):
    __slots__ = ("currency", "converted", "unconverted_currencies")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    UNCONVERTED_CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    currency: str
    converted: bool
    unconverted_currencies: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, currency: _Optional[str] = ..., converted: _Optional[bool] = ..., unconverted_currencies: _Optional[_Iterable[str]] = ...) -> None: ...

class SalesPeriod(_message.Message):
    __slots__ = ("start_date", "orders_placed", "orders_paid", "revenue_minor", "average_order_value_minor", "units", "refunds", "refunded_minor", "returns_requested")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PLACED_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PAID_FIELD_NUMBER: _ClassVar[int]
    REVENUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ORDER_VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_MINOR_FIELD_NUMBER: _ClassVar[int]
    RETURNS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    orders_placed: int
    orders_paid: int
    revenue_minor: int
    average_order_value_minor: int
    units: int
    refunds: int
    refunded_minor: int
    returns_requested: int
    def __init__(self, start_date: _Optional[str] = ..., orders_placed: _Optional[int] = ..., orders_paid: _Optional[int] = ..., revenue_minor: _Optional[int] = ..., average_order_value_minor: _Optional[int] = ..., units: _Optional[int] = ..., refunds: _Optional[int] = ..., refunded_minor: _Optional[int] = ..., returns_requested: _Optional[int] = ...) -> None: ...

class SalesReport(_message.Message):
    __slots__ = ("money", "periods", "total")
    MONEY_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    money: ReportCurrency
    periods: _containers.RepeatedCompositeFieldContainer[SalesPeriod]
    total: SalesPeriod
    def __init__(self, money: _Optional[_Union[ReportCurrency, _Mapping]] = ..., periods: _Optional[_Iterable[_Union[SalesPeriod, _Mapping]]] = ..., total: _Optional[_Union[SalesPeriod, _Mapping]] = ...) -> None: ...

class CustomersPeriod(_message.Message):
    __slots__ = ("start_date", "new_accounts", "new_customers", "returning_customers")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    NEW_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEW_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    RETURNING_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    new_accounts: int
    new_customers: int
    returning_customers: int
    def __init__(self, start_date: _Optional[str] = ..., new_accounts: _Optional[int] = ..., new_customers: _Optional[int] = ..., returning_customers: _Optional[int] = ...) -> None: ...

class Cohort(_message.Message):
    __slots__ = ("month", "active")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    month: str
    active: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, month: _Optional[str] = ..., active: _Optional[_Iterable[int]] = ...) -> None: ...

class CustomersReport(_message.Message):
    __slots__ = ("periods", "cohorts")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    COHORTS_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[CustomersPeriod]
    cohorts: _containers.RepeatedCompositeFieldContainer[Cohort]
    def __init__(self, periods: _Optional[_Iterable[_Union[CustomersPeriod, _Mapping]]] = ..., cohorts: _Optional[_Iterable[_Union[Cohort, _Mapping]]] = ...) -> None: ...

class FunnelPeriod(_message.Message):
    __slots__ = ("start_date", "orders_placed", "orders_invoiced", "orders_paid")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PLACED_FIELD_NUMBER: _ClassVar[int]
    ORDERS_INVOICED_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PAID_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    orders_placed: int
    orders_invoiced: int
    orders_paid: int
    def __init__(self, start_date: _Optional[str] = ..., orders_placed: _Optional[int] = ..., orders_invoiced: _Optional[int] = ..., orders_paid: _Optional[int] = ...) -> None: ...

class FunnelReport(_message.Message):
    __slots__ = ("periods", "total", "untracked_stages")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNTRACKED_STAGES_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[FunnelPeriod]
    total: FunnelPeriod
    untracked_stages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, periods: _Optional[_Iterable[_Union[FunnelPeriod, _Mapping]]] = ..., total: _Optional[_Union[FunnelPeriod, _Mapping]] = ..., untracked_stages: _Optional[_Iterable[str]] = ...) -> None: ...

class TopProductsQuery(_message.Message):
    __slots__ = ("range", "limit")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    range: AnalyticsQuery
    limit: int
    def __init__(self, range: _Optional[_Union[AnalyticsQuery, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class ProductSales(_message.Message):
    __slots__ = ("product_id", "title", "category_id", "units", "orders", "revenue_minor")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    title: str
    category_id: str
    units: int
    orders: int
    revenue_minor: int
    def __init__(self, product_id: _Optional[str] = ..., title: _Optional[str] = ..., category_id: _Optional[str] = ..., units: _Optional[int] = ..., orders: _Optional[int] = ..., revenue_minor: _Optional[int] = ...) -> None: ...

class CategorySales(_message.Message):
    __slots__ = ("category_id", "name", "units", "revenue_minor")
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    name: str
    units: int
    revenue_minor: int
    def __init__(self, category_id: _Optional[str] = ..., name: _Optional[str] = ..., units: _Optional[int] = ..., revenue_minor: _Optional[int] = ...) -> None: ...

class TopProductsReport(_message.Message):
    __slots__ = ("money", "products", "categories")
    MONEY_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    money: ReportCurrency
    products: _containers.RepeatedCompositeFieldContainer[ProductSales]
    categories: _containers.RepeatedCompositeFieldContainer[CategorySales]
    def __init__(self, money: _Optional[_Union[ReportCurrency, _Mapping]] = ..., products: _Optional[_Iterable[_Union[ProductSales, _Mapping]]] = ..., categories: _Optional[_Iterable[_Union[CategorySales, _Mapping]]] = ...) -> None: ...

class PaymentMethodShare(_message.Message):
    __slots__ = ("provider", "pay_currency", "crypto", "orders", "revenue_minor", "share_bp")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PAY_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    SHARE_BP_FIELD_NUMBER: _ClassVar[int]
    provider: str
    pay_currency: str
    crypto: bool
    orders: int
    revenue_minor: int
    share_bp: int
    def __init__(self, provider: _Optional[str] = ..., pay_currency: _Optional[str] = ..., crypto: _Optional[bool] = ..., orders: _Optional[int] = ..., revenue_minor: _Optional[int] = ..., share_bp: _Optional[int] = ...) -> None: ...

class PaymentMethodsReport(_message.Message):
    __slots__ = ("money", "methods", "orders_paid", "crypto_share_bp")
    MONEY_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PAID_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_SHARE_BP_FIELD_NUMBER: _ClassVar[int]
    money: ReportCurrency
    methods: _containers.RepeatedCompositeFieldContainer[PaymentMethodShare]
    orders_paid: int
    crypto_share_bp: int
    def __init__(self, money: _Optional[_Union[ReportCurrency, _Mapping]] = ..., methods: _Optional[_Iterable[_Union[PaymentMethodShare, _Mapping]]] = ..., orders_paid: _Optional[int] = ..., crypto_share_bp: _Optional[int] = ...) -> None: ...

class StockAlertsQuery(_message.Message):
    __slots__ = ("low_stock_threshold", "limit")
    LOW_STOCK_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    low_stock_threshold: int
    limit: int
    def __init__(self, low_stock_threshold: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class StockAlert(_message.Message):
    __slots__ = ("variant_id", "product_id", "title", "on_hand", "reserved", "available", "level")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    product_id: str
    title: str
    on_hand: int
    reserved: int
    available: int
    level: StockLevel
    def __init__(self, variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., title: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., level: _Optional[_Union[StockLevel, str]] = ...) -> None: ...

class StockAlertsReport(_message.Message):
    __slots__ = ("alerts", "low", "out")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    OUT_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[StockAlert]
    low: int
    out: int
    def __init__(self, alerts: _Optional[_Iterable[_Union[StockAlert, _Mapping]]] = ..., low: _Optional[int] = ..., out: _Optional[int] = ...) -> None: ...

class SupportPeriod(_message.Message):
    __slots__ = ("start_date", "conversations", "answered", "mean_time_to_first_answer_ms", "handed_over", "handover_rate_bp", "closed", "resolved_by_assistant")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    MEAN_TIME_TO_FIRST_ANSWER_MS_FIELD_NUMBER: _ClassVar[int]
    HANDED_OVER_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_ASSISTANT_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    conversations: int
    answered: int
    mean_time_to_first_answer_ms: int
    handed_over: int
    handover_rate_bp: int
    closed: int
    resolved_by_assistant: int
    def __init__(self, start_date: _Optional[str] = ..., conversations: _Optional[int] = ..., answered: _Optional[int] = ..., mean_time_to_first_answer_ms: _Optional[int] = ..., handed_over: _Optional[int] = ..., handover_rate_bp: _Optional[int] = ..., closed: _Optional[int] = ..., resolved_by_assistant: _Optional[int] = ...) -> None: ...

class SupportReport(_message.Message):
    __slots__ = ("periods", "total")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[SupportPeriod]
    total: SupportPeriod
    def __init__(self, periods: _Optional[_Iterable[_Union[SupportPeriod, _Mapping]]] = ..., total: _Optional[_Union[SupportPeriod, _Mapping]] = ...) -> None: ...

class WatchDashboardRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DashboardUpdate(_message.Message):
    __slots__ = ("date", "currency", "revenue_minor", "orders_placed", "orders_paid", "average_order_value_minor", "new_customers", "as_of")
    DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REVENUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PLACED_FIELD_NUMBER: _ClassVar[int]
    ORDERS_PAID_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ORDER_VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    NEW_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    date: str
    currency: str
    revenue_minor: int
    orders_placed: int
    orders_paid: int
    average_order_value_minor: int
    new_customers: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, date: _Optional[str] = ..., currency: _Optional[str] = ..., revenue_minor: _Optional[int] = ..., orders_placed: _Optional[int] = ..., orders_paid: _Optional[int] = ..., average_order_value_minor: _Optional[int] = ..., new_customers: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
