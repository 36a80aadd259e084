"""Where the gateway learns the API: protobuf descriptors, never another service's code.

`descriptors.binpb` (built by tools/gen_proto.py with imports and source info) lists every proto
file and carries the comments the OpenAPI document shows; the generated `_pb2` modules give the
message classes. Files of a descriptor set missing from the pool are added to it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import google.api.annotations_pb2  # noqa: F401  (registers the google.api.http extension)
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor

import agora._proto
from agora._proto.agora.options.v1 import options_pb2  # noqa: F401  (registers the rule option)

DESCRIPTOR_SET_PATH = Path(agora._proto.__file__).parent / "descriptors.binpb"


def read_descriptor_set(path: Path = DESCRIPTOR_SET_PATH) -> descriptor_pb2.FileDescriptorSet:
    """A FileDescriptorSet read from `path` (default: the one generated for all Agora protos)."""
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def import_generated_modules() -> None:
    """Import every generated `_pb2` module under `agora._proto` (fills the default pool)."""
    prefix = agora._proto.__name__ + "."
    for module in pkgutil.walk_packages(agora._proto.__path__, prefix):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


def populate_pool(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
    pool: descriptor_pool.DescriptorPool | None = None,
) -> descriptor_pool.DescriptorPool:
    """Make sure every file of the set is in `pool` (default pool when None) and return it.

    A missing file is first looked for as a generated module (so its messages get their real
    classes, with the well-known-type JSON mixins), else added from its descriptor.
    """
    pool = pool or descriptor_pool.Default()
    for file_proto in descriptor_set.file:
        if _has_file(pool, file_proto.name):
            continue
        if pool is descriptor_pool.Default() and _import_module_for(file_proto.name):
            continue
        pool.Add(file_proto)
    return pool


def default_pool() -> descriptor_pool.DescriptorPool:
    """The default pool with every Agora proto loaded."""
    import_generated_modules()
    return populate_pool(read_descriptor_set())


def files_of(
    descriptor_set: descriptor_pb2.FileDescriptorSet, pool: descriptor_pool.DescriptorPool
) -> list[FileDescriptor]:
    """The pool's descriptors of the files in the set that declare services."""
    return [pool.FindFileByName(f.name) for f in descriptor_set.file if f.service]


@dataclass(frozen=True)
class SourceComments:
    """Comments of proto elements by full name (`agora.catalog.v1.Product.slug`, services,
    methods, messages, fields, enums, enum values)."""

    by_name: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_descriptor_set(
        cls, descriptor_set: descriptor_pb2.FileDescriptorSet
    ) -> SourceComments:
        found: dict[str, str] = {}
        for file_proto in descriptor_set.file:
            by_path = {
                tuple(loc.path): _clean(loc.leading_comments or loc.trailing_comments)
                for loc in file_proto.source_code_info.location
            }
            for name, path in _element_paths(file_proto):
                if by_path.get(path):
                    found[name] = by_path[path]
        return cls(found)

    def of(self, full_name: str) -> str:
        """The comment of an element, or an empty string."""
        return self.by_name.get(full_name, "")


def _element_paths(
    file_proto: descriptor_pb2.FileDescriptorProto,
) -> Iterator[tuple[str, tuple[int, ...]]]:
    # Location paths use the field numbers of descriptor.proto: 4 message_type, 5 enum_type,
    # 6 service; inside a message 2 field, 3 nested_type, 4 enum_type; 2 method, 2 value.
    package = file_proto.package
    for index, service in enumerate(file_proto.service):
        name = f"{package}.{service.name}"
        yield name, (6, index)
        for m_index, method in enumerate(service.method):
            yield f"{name}.{method.name}", (6, index, 2, m_index)
    for index, message in enumerate(file_proto.message_type):
        yield from _message_paths(message, f"{package}.{message.name}", (4, index))
    for index, enum in enumerate(file_proto.enum_type):
        yield from _enum_paths(enum, f"{package}.{enum.name}", (5, index))


def _message_paths(
    message: descriptor_pb2.DescriptorProto, name: str, path: tuple[int, ...]
) -> Iterator[tuple[str, tuple[int, ...]]]:
    yield name, path
    for index, field_proto in enumerate(message.field):
        yield f"{name}.{field_proto.name}", (*path, 2, index)
    for index, nested in enumerate(message.nested_type):
        yield from _message_paths(nested, f"{name}.{nested.name}", (*path, 3, index))
    for index, enum in enumerate(message.enum_type):
        yield from _enum_paths(enum, f"{name}.{enum.name}", (*path, 4, index))


def _enum_paths(
    enum: descriptor_pb2.EnumDescriptorProto, name: str, path: tuple[int, ...]
) -> Iterator[tuple[str, tuple[int, ...]]]:
    yield name, path
    for index, value in enumerate(enum.value):
        yield f"{name}.{value.name}", (*path, 2, index)


def _clean(comment: str) -> str:
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(lines).strip()


def _has_file(pool: descriptor_pool.DescriptorPool, name: str) -> bool:
    try:
        pool.FindFileByName(name)
    except KeyError:
        return False
    return True


def _import_module_for(file_name: str) -> bool:
    module = file_name.removesuffix(".proto").replace("/", ".") + "_pb2"
    if module.startswith("agora."):
        module = f"{agora._proto.__name__}.{module}"
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
