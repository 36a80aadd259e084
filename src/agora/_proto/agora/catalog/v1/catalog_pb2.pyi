import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProductStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATUS_UNSPECIFIED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_DRAFT: _ClassVar[ProductStatus]
    PRODUCT_STATUS_PUBLISHED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ARCHIVED: _ClassVar[ProductStatus]

class ReservationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATUS_UNSPECIFIED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_ACTIVE: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_COMMITTED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_RELEASED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_EXPIRED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_RESTOCKED: _ClassVar[ReservationStatus]
PRODUCT_STATUS_UNSPECIFIED: ProductStatus
PRODUCT_STATUS_DRAFT: ProductStatus
PRODUCT_STATUS_PUBLISHED: ProductStatus
PRODUCT_STATUS_ARCHIVED: ProductStatus
RESERVATION_STATUS_UNSPECIFIED: ReservationStatus
RESERVATION_STATUS_ACTIVE: ReservationStatus
RESERVATION_STATUS_COMMITTED: ReservationStatus
RESERVATION_STATUS_RELEASED: ReservationStatus
RESERVATION_STATUS_EXPIRED: ReservationStatus
RESERVATION_STATUS_RESTOCKED: ReservationStatus

class Money(_message.Message):
    __slots__ = ("amount_minor", "currency")
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    amount_minor: int
    currency: str
    def __init__(self, amount_minor: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("id", "slug", "title", "description", "status", "attributes", "image_urls", "category_id", "variants", "version", "created_at", "updated_at", "published_at", "price_from", "in_stock")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URLS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_FROM_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    id: str
    slug: str
    title: str
    description: str
    status: ProductStatus
    attributes: _containers.ScalarMap[str, str]
    image_urls: _containers.RepeatedScalarFieldContainer[str]
    category_id: str
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    published_at: _timestamp_pb2.Timestamp
    price_from: Money
    in_stock: bool
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., image_urls: _Optional[_Iterable[str]] = ..., category_id: _Optional[str] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_from: _Optional[_Union[Money, _Mapping]] = ..., in_stock: _Optional[bool] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("id", "product_id", "sku", "title", "options", "prices", "available", "position")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    product_id: str
    sku: str
    title: str
    options: _containers.ScalarMap[str, str]
    prices: _containers.RepeatedCompositeFieldContainer[Money]
    available: int
    position: int
    def __init__(self, id: _Optional[str] = ..., product_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., prices: _Optional[_Iterable[_Union[Money, _Mapping]]] = ..., available: _Optional[int] = ..., position: _Optional[int] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("id", "slug", "name", "parent_id", "depth")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    id: str
    slug: str
    name: str
    parent_id: str
    depth: int
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., parent_id: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class Stock(_message.Message):
    __slots__ = ("variant_id", "on_hand", "reserved", "available")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    on_hand: int
    reserved: int
    available: int
    def __init__(self, variant_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ...) -> None: ...

class ReservationLine(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("id", "reference", "status", "lines", "expires_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference: str
    status: ReservationStatus
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    expires_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., status: _Optional[_Union[ReservationStatus, str]] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("q", "category", "currency", "min_price", "max_price", "attr", "in_stock", "sort", "page_size", "page_token", "ids")
    Q_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    ATTR_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    q: str
    category: str
    currency: str
    min_price: int
    max_price: int
    attr: _containers.RepeatedScalarFieldContainer[str]
    in_stock: bool
    sort: str
    page_size: int
    page_token: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, q: _Optional[str] = ..., category: _Optional[str] = ..., currency: _Optional[str] = ..., min_price: _Optional[int] = ..., max_price: _Optional[int] = ..., attr: _Optional[_Iterable[str]] = ..., in_stock: _Optional[bool] = ..., sort: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchProductsRequest(_message.Message):
    __slots__ = ("q", "status", "page_size", "page_token", "slug")
    Q_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    q: str
    status: ProductStatus
    page_size: int
    page_token: str
    slug: str
    def __init__(self, q: _Optional[str] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., slug: _Optional[str] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("slug", "currency")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    slug: str
    currency: str
    def __init__(self, slug: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class GetProductByIdRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetProductsByIdRequest(_message.Message):
    __slots__ = ("ids", "variant_ids")
    IDS_FIELD_NUMBER: _ClassVar[int]
    VARIANT_IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    variant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., variant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetProductsByIdResponse(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class NewVariant(_message.Message):
    __slots__ = ("sku", "title", "options", "prices")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    sku: str
    title: str
    options: _containers.ScalarMap[str, str]
    prices: _containers.RepeatedCompositeFieldContainer[Money]
    def __init__(self, sku: _Optional[str] = ..., title: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., prices: _Optional[_Iterable[_Union[Money, _Mapping]]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "slug", "title", "description", "attributes", "image_urls", "category_id", "variants")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URLS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    slug: str
    title: str
    description: str
    attributes: _containers.ScalarMap[str, str]
    image_urls: _containers.RepeatedScalarFieldContainer[str]
    category_id: str
    variants: _containers.RepeatedCompositeFieldContainer[NewVariant]
    def __init__(self, idempotency_key: _Optional[str] = ..., slug: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., image_urls: _Optional[_Iterable[str]] = ..., category_id: _Optional[str] = ..., variants: _Optional[_Iterable[_Union[NewVariant, _Mapping]]] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "product", "update_mask")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    product: Product
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, idempotency_key: _Optional[str] = ..., product: _Optional[_Union[Product, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class PublishProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class UnpublishProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ArchiveProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class RestoreProductRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class CreateVariantRequest(_message.Message):
    __slots__ = ("idempotency_key", "product_id", "variant")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    product_id: str
    variant: NewVariant
    def __init__(self, idempotency_key: _Optional[str] = ..., product_id: _Optional[str] = ..., variant: _Optional[_Union[NewVariant, _Mapping]] = ...) -> None: ...

class UpdateVariantRequest(_message.Message):
    __slots__ = ("idempotency_key", "variant", "update_mask", "product_version")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_VERSION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    variant: Variant
    update_mask: _field_mask_pb2.FieldMask
    product_version: int
    def __init__(self, idempotency_key: _Optional[str] = ..., variant: _Optional[_Union[Variant, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., product_version: _Optional[int] = ...) -> None: ...

class SetPricesRequest(_message.Message):
    __slots__ = ("idempotency_key", "variant_id", "prices")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    variant_id: str
    prices: _containers.RepeatedCompositeFieldContainer[Money]
    def __init__(self, idempotency_key: _Optional[str] = ..., variant_id: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[Money, _Mapping]]] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, _Mapping]]] = ...) -> None: ...

class CreateCategoryRequest(_message.Message):
    __slots__ = ("idempotency_key", "slug", "name", "parent_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    slug: str
    name: str
    parent_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., parent_id: _Optional[str] = ...) -> None: ...

class SetStockRequest(_message.Message):
    __slots__ = ("idempotency_key", "variant_id", "on_hand")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    variant_id: str
    on_hand: int
    def __init__(self, idempotency_key: _Optional[str] = ..., variant_id: _Optional[str] = ..., on_hand: _Optional[int] = ...) -> None: ...

class GetStockRequest(_message.Message):
    __slots__ = ("variant_id",)
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    def __init__(self, variant_id: _Optional[str] = ...) -> None: ...

class ReserveStockRequest(_message.Message):
    __slots__ = ("idempotency_key", "lines", "ttl_seconds", "reference")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    ttl_seconds: int
    reference: str
    def __init__(self, idempotency_key: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ..., ttl_seconds: _Optional[int] = ..., reference: _Optional[str] = ...) -> None: ...

class GetReservationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class RestockReservationRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...
