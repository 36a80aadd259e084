import datetime

from agora._proto.agora.catalog.v1 import catalog_pb2 as _catalog_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CategoryCreated(_message.Message):
    __slots__ = ("category",)
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    category: _catalog_pb2.Category
    def __init__(self, category: _Optional[_Union[_catalog_pb2.Category, _Mapping]] = ...) -> None: ...

class ProductCreated(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: _catalog_pb2.Product
    def __init__(self, product: _Optional[_Union[_catalog_pb2.Product, _Mapping]] = ...) -> None: ...

class ProductUpdated(_message.Message):
    __slots__ = ("product", "changed_fields")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    product: _catalog_pb2.Product
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, product: _Optional[_Union[_catalog_pb2.Product, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductPublished(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: _catalog_pb2.Product
    def __init__(self, product: _Optional[_Union[_catalog_pb2.Product, _Mapping]] = ...) -> None: ...

class ProductArchived(_message.Message):
    __slots__ = ("product_id", "slug")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    slug: str
    def __init__(self, product_id: _Optional[str] = ..., slug: _Optional[str] = ...) -> None: ...

class VariantAdded(_message.Message):
    __slots__ = ("product_id", "variant")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant: _catalog_pb2.Variant
    def __init__(self, product_id: _Optional[str] = ..., variant: _Optional[_Union[_catalog_pb2.Variant, _Mapping]] = ...) -> None: ...

class PricesChanged(_message.Message):
    __slots__ = ("product_id", "variant_id", "prices")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant_id: str
    prices: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Money]
    def __init__(self, product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[_catalog_pb2.Money, _Mapping]]] = ...) -> None: ...

class StockChanged(_message.Message):
    __slots__ = ("variant_id", "on_hand", "reserved")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    on_hand: int
    reserved: int
    def __init__(self, variant_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ...) -> None: ...

class StockReserved(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines", "expires_at")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.ReservationLine]
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_catalog_pb2.ReservationLine, _Mapping]]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReservationCommitted(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.ReservationLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_catalog_pb2.ReservationLine, _Mapping]]] = ...) -> None: ...

class ReservationReleased(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.ReservationLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_catalog_pb2.ReservationLine, _Mapping]]] = ...) -> None: ...

class ReservationExpired(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.ReservationLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_catalog_pb2.ReservationLine, _Mapping]]] = ...) -> None: ...

class ReservationRestocked(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.ReservationLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_catalog_pb2.ReservationLine, _Mapping]]] = ...) -> None: ...
