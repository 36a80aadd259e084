from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORMAT_UNSPECIFIED: _ClassVar[Format]
    FORMAT_UUID: _ClassVar[Format]
    FORMAT_EMAIL: _ClassVar[Format]
    FORMAT_CURRENCY: _ClassVar[Format]
    FORMAT_COUNTRY: _ClassVar[Format]
FORMAT_UNSPECIFIED: Format
FORMAT_UUID: Format
FORMAT_EMAIL: Format
FORMAT_CURRENCY: Format
FORMAT_COUNTRY: Format
RULE_FIELD_NUMBER: _ClassVar[int]
rule: _descriptor.FieldDescriptor
FIELD_FIELD_NUMBER: _ClassVar[int]
field: _descriptor.FieldDescriptor

class MethodRule(_message.Message):
    __slots__ = ("public", "permission", "cache_ttl_seconds", "invalidated_by", "rate_limit", "response_content_types")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    CACHE_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INVALIDATED_BY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CONTENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    public: bool
    permission: str
    cache_ttl_seconds: int
    invalidated_by: _containers.RepeatedScalarFieldContainer[str]
    rate_limit: str
    response_content_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, public: _Optional[bool] = ..., permission: _Optional[str] = ..., cache_ttl_seconds: _Optional[int] = ..., invalidated_by: _Optional[_Iterable[str]] = ..., rate_limit: _Optional[str] = ..., response_content_types: _Optional[_Iterable[str]] = ...) -> None: ...

class FieldRule(_message.Message):
    __slots__ = ("required", "min_len", "max_len", "format", "min", "max", "max_items", "max_key_len", "pattern")
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MIN_LEN_FIELD_NUMBER: _ClassVar[int]
    MAX_LEN_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_LEN_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    required: bool
    min_len: int
    max_len: int
    format: Format
    min: int
    max: int
    max_items: int
    max_key_len: int
    pattern: str
    def __init__(self, required: _Optional[bool] = ..., min_len: _Optional[int] = ..., max_len: _Optional[int] = ..., format: _Optional[_Union[Format, str]] = ..., min: _Optional[int] = ..., max: _Optional[int] = ..., max_items: _Optional[int] = ..., max_key_len: _Optional[int] = ..., pattern: _Optional[str] = ...) -> None: ...
