from agora._proto.agora.support.v1 import support_pb2 as _support_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SupportCreated(_message.Message):
    __slots__ = ("support",)
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    support: _support_pb2.Support
    def __init__(self, support: _Optional[_Union[_support_pb2.Support, _Mapping]] = ...) -> None: ...
