"""Methods answering `google.api.HttpBody`, on real granian with a real HTTP client: the test
file service's `GetFile` (unary) at /v1/files/{name} and `DownloadFile` (a server stream, one
streamed download) at /v1/downloads/{name}."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from files_backend import (
    NOTES,
    NOTES_ETAG,
    Files,
    compile_files_protos,
    piece,
    start_files,
    tiny_png,
)
from granian_process import granian_testshop
from openapi_spec_validator import validate

from agora.platform.net import free_port

MAX_STREAMS = 2
WAIT_S = 10.0  # a bound on waiting for the gateway or the backend, never a timing assertion
SETTINGS = {
    "AGORA_GATEWAY_TRUSTED_PROXIES": "127.0.0.1",  # each test is a client address of its own
    "AGORA_GATEWAY_DOWNLOAD_OPEN_WAIT_S": "0.5",
    "AGORA_GATEWAY_SSE_MAX_STREAMS_PER_CLIENT": str(MAX_STREAMS),
}


@pytest.fixture(scope="module")
def files_descriptor_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_files_protos(tmp_path_factory.mktemp("testfiles"))


@pytest.fixture(scope="module")
async def files(files_descriptor_path: Path) -> AsyncIterator[Files]:
    server, running = await start_files(free_port())
    yield running
    await server.stop(grace=None)


@pytest.fixture(scope="module")
async def gateway(files_descriptor_path: Path, files: Files) -> AsyncIterator[str]:
    async with granian_testshop(files_descriptor_path, files.address, SETTINGS) as base_url:
        yield base_url


def as_client(**headers: str) -> dict[str, str]:
    tail = uuid.uuid4().int
    return {"X-Forwarded-For": f"198.18.{tail % 250 + 1}.{tail // 250 % 250 + 1}", **headers}


@contextlib.asynccontextmanager
async def opened(
    base_url: str, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.Response]:
    """The response to GET `path`, its body not yet read."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as http,
        http.stream("GET", path, headers=headers or as_client()) as response,
    ):
        yield response


async def test_a_unary_answer_is_its_bytes_with_the_headers_the_backend_may_set(
    gateway: str,
) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        response = await http.get("/v1/files/notes", headers=as_client())

    assert response.status_code == 200
    assert response.content == NOTES
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(NOTES))
    assert response.headers["etag"] == NOTES_ETAG
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert response.headers["last-modified"] == "Wed, 02 Dec 2026 10:00:00 GMT"
    assert response.headers["x-agora-report-status"] == "final"
    assert "set-cookie" not in response.headers
    assert "x-internal-host" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_get_naming_the_backends_etag_is_304_without_the_body(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        same = await http.get(
            "/v1/files/notes", headers=as_client(**{"If-None-Match": f'"x", {NOTES_ETAG}'})
        )
        other = await http.get("/v1/files/notes", headers=as_client(**{"If-None-Match": '"x"'}))

    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == NOTES_ETAG
    assert same.headers["cache-control"] == "public, max-age=60"
    assert "content-disposition" not in same.headers
    assert other.status_code == 200
    assert other.content == NOTES


async def test_an_answer_without_headers_is_not_stored_and_a_bad_type_is_octet_stream(
    gateway: str,
) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        photo = await http.get("/v1/files/photo", headers=as_client())
        strange = await http.get("/v1/files/strange", headers=as_client())

    assert photo.headers["content-type"] == "image/png"
    assert photo.content == tiny_png()
    assert photo.headers["cache-control"] == "no-store"
    assert "etag" not in photo.headers
    assert strange.status_code == 200
    assert strange.headers["content-type"] == "application/octet-stream"


async def test_a_failed_unary_call_is_a_rest_problem(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        missing = await http.get("/v1/files/nothing", headers=as_client())
        too_long = await http.get(f"/v1/files/{'n' * 41}", headers=as_client())

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "NOT_FOUND"
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["field"] == "name"


async def test_a_server_stream_is_one_download_of_the_first_messages_type(gateway: str) -> None:
    async with opened(gateway, "/v1/downloads/rows?chunks=300") as response:
        received = [chunk async for chunk in response.aiter_raw()]

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="rows.csv"'
    assert response.headers["cache-control"] == "no-store"
    assert b"".join(received) == b"".join(piece(n) for n in range(1, 301))


async def test_a_stream_ending_before_any_message_is_an_empty_download(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        empty = await http.get("/v1/downloads/empty", headers=as_client())

    assert empty.status_code == 200
    assert empty.headers["content-type"] == "application/octet-stream"
    assert empty.content == b""


async def test_a_cookie_session_download_from_another_site_is_refused(
    gateway: str, files: Files
) -> None:
    calls = len(files.calls)
    cookie = {"Cookie": "__Host-agora_access=some.session.token"}
    async with httpx.AsyncClient(base_url=gateway) as http:
        cross_site = await http.get(
            "/v1/downloads/rows", headers=as_client(**cookie, **{"Sec-Fetch-Site": "cross-site"})
        )

    assert cross_site.status_code == 403
    assert cross_site.json()["reason"] == "ORIGIN_REFUSED"
    assert len(files.calls) == calls


async def test_a_refusal_before_the_first_message_is_a_rest_problem(
    gateway: str, files: Files
) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        denied = await http.get("/v1/downloads/deny", headers=as_client())
        invalid = await http.get("/v1/downloads/rows?chunks=1001", headers=as_client())
        late = await http.get("/v1/downloads/late", headers=as_client())

    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["reason"] == "PERMISSION_DENIED"
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"] == "chunks"
    assert late.status_code == 504
    assert late.json()["code"] == "DEADLINE_EXCEEDED"


async def test_a_failure_after_the_first_message_cuts_the_download_off(gateway: str) -> None:
    received: list[bytes] = []

    async def read_all(response: httpx.Response) -> None:
        async for chunk in response.aiter_raw():
            received.append(chunk)

    async with opened(gateway, "/v1/downloads/fail-later?chunks=5") as response:
        with pytest.raises(httpx.RemoteProtocolError):
            await read_all(response)

    assert response.status_code == 200
    assert b"".join(received) == piece(1)


async def test_a_client_going_away_cancels_the_call(gateway: str, files: Files) -> None:
    request_id = f"download-{uuid.uuid4().hex}"
    async with opened(
        gateway, "/v1/downloads/slow", as_client(**{"X-Request-Id": request_id})
    ) as response:
        first = await anext(response.aiter_raw())

    assert first == piece(1)
    while (cancelled := await asyncio.wait_for(files.cancelled.get(), WAIT_S)) != request_id:
        pass
    assert cancelled == request_id


async def test_downloads_count_against_the_clients_open_streams(gateway: str) -> None:
    client = as_client()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(MAX_STREAMS):
            response = await stack.enter_async_context(
                opened(gateway, "/v1/downloads/slow", client)
            )
            assert response.status_code == 200
        async with httpx.AsyncClient(base_url=gateway) as http:
            refused = await http.get("/v1/downloads/rows", headers=client)
    async with httpx.AsyncClient(base_url=gateway) as http:
        later = await http.get("/v1/downloads/rows", headers=client)

    assert refused.status_code == 429
    assert refused.json()["reason"] == "TOO_MANY_STREAMS"
    assert later.status_code == 200


async def test_a_download_for_signed_in_callers_refuses_anonymous_ones_at_the_edge(
    gateway: str, files: Files
) -> None:
    calls = len(files.calls)
    async with httpx.AsyncClient(base_url=gateway) as http:
        refused = await http.get("/v1/staff/downloads/rows", headers=as_client())

    assert refused.status_code == 401
    assert refused.json()["reason"] == "TOKEN_MISSING"
    assert len(files.calls) == calls


async def test_the_served_openapi_document_describes_downloads_as_binary_content(
    gateway: str,
) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        spec = (await http.get("/api/openapi.json")).json()
    validate(spec)
    download = spec["paths"]["/v1/downloads/{name}"]["get"]
    staff = spec["paths"]["/v1/staff/downloads/{name}"]["get"]
    single = spec["paths"]["/v1/files/{name}"]["get"]
    binary = {"schema": {"type": "string", "format": "binary"}}

    assert download["responses"]["200"]["content"] == {"text/csv": binary}
    assert "Streamed download" in download["description"]
    assert "304" not in download["responses"]
    assert staff["responses"]["200"]["content"] == {"application/octet-stream": binary}
    assert "security" in staff
    assert single["responses"]["200"]["content"] == {"text/plain": binary, "image/png": binary}
    assert "304" in single["responses"]
