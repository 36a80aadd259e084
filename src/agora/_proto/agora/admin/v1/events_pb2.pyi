from agora._proto.agora.admin.v1 import admin_pb2 as _admin_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PageCreated(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _admin_pb2.Page
    def __init__(self, page: _Optional[_Union[_admin_pb2.Page, _Mapping]] = ...) -> None: ...
