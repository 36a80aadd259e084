import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_KIND_UNSPECIFIED: _ClassVar[ContentKind]
    CONTENT_KIND_PAGE: _ClassVar[ContentKind]
    CONTENT_KIND_BANNER: _ClassVar[ContentKind]
    CONTENT_KIND_MENU: _ClassVar[ContentKind]
    CONTENT_KIND_POST: _ClassVar[ContentKind]

class ContentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_STATUS_UNSPECIFIED: _ClassVar[ContentStatus]
    CONTENT_STATUS_DRAFT: _ClassVar[ContentStatus]
    CONTENT_STATUS_SCHEDULED: _ClassVar[ContentStatus]
    CONTENT_STATUS_PUBLISHED: _ClassVar[ContentStatus]
    CONTENT_STATUS_EXPIRED: _ClassVar[ContentStatus]
CONTENT_KIND_UNSPECIFIED: ContentKind
CONTENT_KIND_PAGE: ContentKind
CONTENT_KIND_BANNER: ContentKind
CONTENT_KIND_MENU: ContentKind
CONTENT_KIND_POST: ContentKind
CONTENT_STATUS_UNSPECIFIED: ContentStatus
CONTENT_STATUS_DRAFT: ContentStatus
CONTENT_STATUS_SCHEDULED: ContentStatus
CONTENT_STATUS_PUBLISHED: ContentStatus
CONTENT_STATUS_EXPIRED: ContentStatus

class MenuItem(_message.Message):
    __slots__ = ("label", "url")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    label: str
    url: str
    def __init__(self, label: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class ContentFields(_message.Message):
    __slots__ = ("slug", "title", "body_markdown", "placement", "link_url", "image_sha256", "menu_items")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    LINK_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    MENU_ITEMS_FIELD_NUMBER: _ClassVar[int]
    slug: str
    title: str
    body_markdown: str
    placement: str
    link_url: str
    image_sha256: str
    menu_items: _containers.RepeatedCompositeFieldContainer[MenuItem]
    def __init__(self, slug: _Optional[str] = ..., title: _Optional[str] = ..., body_markdown: _Optional[str] = ..., placement: _Optional[str] = ..., link_url: _Optional[str] = ..., image_sha256: _Optional[str] = ..., menu_items: _Optional[_Iterable[_Union[MenuItem, _Mapping]]] = ...) -> None: ...

class ContentEntry(_message.Message):
    __slots__ = ("id", "kind", "locale", "fields", "body_html", "version", "status", "published_version", "publish_at", "unpublish_at", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    BODY_HTML_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_AT_FIELD_NUMBER: _ClassVar[int]
    UNPUBLISH_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: ContentKind
    locale: str
    fields: ContentFields
    body_html: str
    version: int
    status: ContentStatus
    published_version: int
    publish_at: _timestamp_pb2.Timestamp
    unpublish_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[ContentKind, str]] = ..., locale: _Optional[str] = ..., fields: _Optional[_Union[ContentFields, _Mapping]] = ..., body_html: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[ContentStatus, str]] = ..., published_version: _Optional[int] = ..., publish_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unpublish_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PublishedContent(_message.Message):
    __slots__ = ("kind", "locale", "slug", "title", "body_html", "placement", "link_url", "image_sha256", "menu_items", "published_at", "version")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_HTML_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    LINK_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    MENU_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    kind: ContentKind
    locale: str
    slug: str
    title: str
    body_html: str
    placement: str
    link_url: str
    image_sha256: str
    menu_items: _containers.RepeatedCompositeFieldContainer[MenuItem]
    published_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, kind: _Optional[_Union[ContentKind, str]] = ..., locale: _Optional[str] = ..., slug: _Optional[str] = ..., title: _Optional[str] = ..., body_html: _Optional[str] = ..., placement: _Optional[str] = ..., link_url: _Optional[str] = ..., image_sha256: _Optional[str] = ..., menu_items: _Optional[_Iterable[_Union[MenuItem, _Mapping]]] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class ContentVersion(_message.Message):
    __slots__ = ("version", "fields", "author", "change", "created_at")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    version: int
    fields: ContentFields
    author: str
    change: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, version: _Optional[int] = ..., fields: _Optional[_Union[ContentFields, _Mapping]] = ..., author: _Optional[str] = ..., change: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ContentDiff(_message.Message):
    __slots__ = ("from_version", "to_version", "unified_diff")
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    UNIFIED_DIFF_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    to_version: int
    unified_diff: str
    def __init__(self, from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., unified_diff: _Optional[str] = ...) -> None: ...

class Media(_message.Message):
    __slots__ = ("sha256", "content_type", "size_bytes", "width", "height", "variants", "created_at")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    variants: _containers.RepeatedCompositeFieldContainer[MediaVariant]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, sha256: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., variants: _Optional[_Iterable[_Union[MediaVariant, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MediaVariant(_message.Message):
    __slots__ = ("name", "key", "content_type", "width", "height", "size_bytes", "url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    url: str
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ..., content_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ..., url: _Optional[str] = ...) -> None: ...

class CreateContentRequest(_message.Message):
    __slots__ = ("idempotency_key", "kind", "locale", "fields")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    kind: ContentKind
    locale: str
    fields: ContentFields
    def __init__(self, idempotency_key: _Optional[str] = ..., kind: _Optional[_Union[ContentKind, str]] = ..., locale: _Optional[str] = ..., fields: _Optional[_Union[ContentFields, _Mapping]] = ...) -> None: ...

class UpdateContentRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "expected_version", "fields")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    expected_version: int
    fields: ContentFields
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., expected_version: _Optional[int] = ..., fields: _Optional[_Union[ContentFields, _Mapping]] = ...) -> None: ...

class GetContentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListContentRequest(_message.Message):
    __slots__ = ("kind", "locale", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: ContentKind
    locale: str
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[ContentKind, str]] = ..., locale: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListContentResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ContentEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[ContentEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PublishContentRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "expected_version", "publish_at", "unpublish_at")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_AT_FIELD_NUMBER: _ClassVar[int]
    UNPUBLISH_AT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    expected_version: int
    publish_at: _timestamp_pb2.Timestamp
    unpublish_at: _timestamp_pb2.Timestamp
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., expected_version: _Optional[int] = ..., publish_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unpublish_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UnpublishContentRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "expected_version")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    expected_version: int
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListContentVersionsRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListContentVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[ContentVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[ContentVersion, _Mapping]]] = ...) -> None: ...

class DiffContentVersionsRequest(_message.Message):
    __slots__ = ("id", "from_version", "to_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    from_version: int
    to_version: int
    def __init__(self, id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class RollbackContentRequest(_message.Message):
    __slots__ = ("idempotency_key", "id", "expected_version", "to_version")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    expected_version: int
    to_version: int
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ..., expected_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class UploadMediaRequest(_message.Message):
    __slots__ = ("idempotency_key", "filename", "content_type", "data")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    filename: str
    content_type: str
    data: bytes
    def __init__(self, idempotency_key: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetMediaRequest(_message.Message):
    __slots__ = ("sha256",)
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class GetMediaFileRequest(_message.Message):
    __slots__ = ("sha256", "variant")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    variant: str
    def __init__(self, sha256: _Optional[str] = ..., variant: _Optional[str] = ...) -> None: ...

class GetPublishedRequest(_message.Message):
    __slots__ = ("locale", "slug")
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    locale: str
    slug: str
    def __init__(self, locale: _Optional[str] = ..., slug: _Optional[str] = ...) -> None: ...

class ListPublishedPostsRequest(_message.Message):
    __slots__ = ("locale", "page_size", "page_token")
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    locale: str
    page_size: int
    page_token: str
    def __init__(self, locale: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPublishedBannersRequest(_message.Message):
    __slots__ = ("locale", "placement")
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    locale: str
    placement: str
    def __init__(self, locale: _Optional[str] = ..., placement: _Optional[str] = ...) -> None: ...

class ListPublishedResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[PublishedContent]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[PublishedContent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
