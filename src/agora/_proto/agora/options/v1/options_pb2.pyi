from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
RULE_FIELD_NUMBER: _ClassVar[int]
rule: _descriptor.FieldDescriptor

class MethodRule(_message.Message):
    __slots__ = ("public", "permission", "cache_ttl_seconds", "invalidated_by", "rate_limit")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    CACHE_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INVALIDATED_BY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    public: bool
    permission: str
    cache_ttl_seconds: int
    invalidated_by: _containers.RepeatedScalarFieldContainer[str]
    rate_limit: str
    def __init__(self, public: _Optional[bool] = ..., permission: _Optional[str] = ..., cache_ttl_seconds: _Optional[int] = ..., invalidated_by: _Optional[_Iterable[str]] = ..., rate_limit: _Optional[str] = ...) -> None: ...
