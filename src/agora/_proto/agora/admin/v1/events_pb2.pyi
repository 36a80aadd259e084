from agora._proto.agora.admin.v1 import content_pb2 as _content_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContentChanged(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: _content_pb2.ContentEntry
    def __init__(self, entry: _Optional[_Union[_content_pb2.ContentEntry, _Mapping]] = ...) -> None: ...

class MediaUploaded(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: _content_pb2.Media
    def __init__(self, media: _Optional[_Union[_content_pb2.Media, _Mapping]] = ...) -> None: ...
