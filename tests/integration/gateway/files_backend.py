"""The HttpBody tests' backend: a real gRPC file service (`agora.testfiles.v1`) answering
`google.api.HttpBody`, whole or in pieces, with response headers as initial metadata, or failing
the way its file name asks (see the proto's comments)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc_tools
from google.api import http_pb2, httpbody_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_tools import protoc
from PIL import Image

from agora.gateway.descriptors import populate_pool
from agora.platform.errors import NotFound, PermissionDenied
from agora.platform.rpc.status import to_grpc_status

HERE = Path(__file__).parent
REPO = HERE.parents[2]
SERVICE = "agora.testfiles.v1.FileService"
NOTES = b"Milk, eggs, bread.\n"
NOTES_ETAG = '"notes-v1"'
NOTES_HEADERS = (
    ("etag", NOTES_ETAG),
    ("cache-control", "public, max-age=60"),
    ("content-disposition", 'attachment; filename="notes.txt"'),
    ("last-modified", "Wed, 02 Dec 2026 10:00:00 GMT"),
    ("x-agora-report-status", "final"),
    # Not on the list: never copied.
    ("set-cookie", "session=stolen"),
    ("x-internal-host", "10.9.8.7"),
)


def compile_files_protos(out: Path) -> Path:
    """The file service's descriptor set (with imports and comments), its files in the pool."""
    site_packages = Path(http_pb2.__file__).resolve().parents[2]
    target = out / "testfiles.binpb"
    code = protoc.main(
        [
            "protoc",
            f"-I{HERE / 'protos'}",
            f"-I{REPO / 'proto'}",
            f"-I{site_packages}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            f"--descriptor_set_out={target}",
            "--include_imports",
            "--include_source_info",
            "agora/testfiles/v1/testfiles.proto",
        ]
    )
    assert code == 0, "protoc failed on the file service's proto"
    populate_pool(descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes()))
    return target


def tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def piece(number: int) -> bytes:
    return f"{number},row {number}\n".encode()


@dataclass
class Files:
    """A running file service: where it listens, and the downloads its callers cancelled."""

    address: str
    calls: list[str] = field(default_factory=list)
    cancelled: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


async def start_files(port: int) -> tuple[grpc.aio.Server, Files]:
    address = f"127.0.0.1:{port}"
    files = Files(address)
    service = descriptor_pool.Default().FindServiceByName(SERVICE)

    async def get_file(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        files.calls.append(f"GetFile {request.name}")
        match request.name:
            case "notes":
                await context.send_initial_metadata(NOTES_HEADERS)
                return httpbody_pb2.HttpBody(content_type="text/plain", data=NOTES)
            case "photo":
                return httpbody_pb2.HttpBody(content_type="image/png", data=tiny_png())
            case "strange":
                return httpbody_pb2.HttpBody(content_type="text/html\nx: y", data=b"<b>hi</b>")
        await context.abort_with_status(to_grpc_status(NotFound("file", request.name)))

    async def download(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        request_id = dict(context.invocation_metadata() or ()).get("x-request-id", "")
        files.calls.append(f"DownloadFile {request.name}")
        if request.name == "deny":
            await context.abort_with_status(
                to_grpc_status(PermissionDenied("these files are closed for you"))
            )
        if request.name == "late":
            await asyncio.sleep(30)
        if request.name == "empty":
            return
        await context.send_initial_metadata(
            (("content-disposition", f'attachment; filename="{request.name}.csv"'),)
        )
        for number in range(1, max(1, request.chunks) + 1):
            content_type = "text/csv" if number == 1 else "text/ignored"
            yield httpbody_pb2.HttpBody(content_type=content_type, data=piece(number))
            if request.name == "fail-later":
                raise RuntimeError("the file store at 10.9.8.7 is on fire")
            if request.name == "slow":
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    await files.cancelled.put(request_id)
                    raise

    def request_class(name: str) -> Any:
        return message_factory.GetMessageClass(service.methods_by_name[name].input_type)

    def serialize(message: Any) -> bytes:
        return bytes(message.SerializeToString())

    handlers = {
        "GetFile": grpc.unary_unary_rpc_method_handler(
            get_file,
            request_deserializer=request_class("GetFile").FromString,
            response_serializer=serialize,
        ),
        **{
            name: grpc.unary_stream_rpc_method_handler(
                download,
                request_deserializer=request_class(name).FromString,
                response_serializer=serialize,
            )
            for name in ("DownloadFile", "DownloadStaffFile")
        },
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(address)
    await server.start()
    return server, files
