"""A local model server speaking the OpenAI-compatible Chat Completions protocol with scripted
answers: the hosted LLM is the third party, so tests talk to this instead, over real HTTP.

`ScriptedLLM` serves `POST /v1/chat/completions` (streamed as server-sent events over chunked
HTTP/1.1, like llama.cpp's server and OpenAI) and `GET /v1/models` on a free loopback port.
Each completion request takes the next step of the script: a `Reply` (text, tool-call deltas,
usage), a `Fail` (an HTTP error status), a `Stall` (no answer until the server closes), or a
reply that stalls, drops the connection or sends an error event part-way; a client that hangs
up on a stall is counted in `disconnects`. Bodies and headers of every request are kept
(`requests`, `headers`). An exhausted script answers 500, so a test that makes more calls than
it scripted fails loudly, unless a `responder` writes the step from the request instead (a
model that answers whatever it is asked, for long runs such as the dialogue suite).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScriptedCall:
    """A tool call the model makes; `arguments` is sent as is (malformed JSON included)."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """A streamed answer: `text` in pieces of `piece` characters, then the tool calls (each
    argument string in two deltas), then the finish reason and, when asked, usage."""

    text: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()
    prompt_tokens: int = 20
    completion_tokens: int | None = None  # default: one per 4 characters of text
    piece: int = 8
    report_usage: bool = True
    # Mid-stream trouble, after this many text pieces: stall, drop the connection, or send an
    # error event.
    stall_after: int | None = None
    drop_after: int | None = None
    error_after: int | None = None


@dataclass(frozen=True)
class Fail:
    status: int = 503
    retry_after: str | None = None
    message: str = "the model is overloaded"


@dataclass(frozen=True)
class Stall:
    """Accept the request and never answer (until the server closes)."""


Step = Reply | Fail | Stall


@dataclass
class ScriptedLLM:
    model: str = "scripted-model"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    disconnects: int = 0  # clients that hung up while the server stalled
    # Answers a request the script has no step left for (None: HTTP 500).
    responder: Callable[[dict[str, Any]], Step] | None = None
    _steps: deque[Step] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def script(self, *steps: Step) -> ScriptedLLM:
        """Append answers for the next requests, in order."""
        with self._lock:
            self._steps.extend(steps)
        return self

    @property
    def pending_steps(self) -> int:
        with self._lock:
            return len(self._steps)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ScriptedLLM:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Step | None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self._steps:
                return self._steps.popleft()
        return self.responder(body) if self.responder is not None else None


def _handler_for(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                self._json(404, {"error": {"message": "no such path"}})
                return
            self._json(200, {"object": "list", "data": [{"id": llm.model, "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": "no such path"}})
                return
            step = llm._next(body, {k.lower(): v for k, v in self.headers.items()})
            try:
                match step:
                    case None:
                        self._json(500, {"error": {"message": "script exhausted"}})
                    case Fail():
                        headers = {"retry-after": step.retry_after} if step.retry_after else {}
                        self._json(step.status, {"error": {"message": step.message}}, headers)
                    case Stall():
                        self._hold()
                    case Reply():
                        self._stream(step, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout): expected

        def _hold(self) -> None:
            """Stall until the server closes or the client hangs up (then counted)."""
            self.close_connection = True
            deadline = time.monotonic() + 120
            while not llm._release.wait(0.05) and time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    with llm._lock:
                        llm.disconnects += 1
                    return

        def _json(self, status: int, payload: object, headers: dict[str, str] | None = None):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for index, event in enumerate(_events(reply, body, llm.model)):
                if reply.stall_after is not None and index == reply.stall_after + 1:
                    self._hold()
                    return
                if reply.drop_after is not None and index == reply.drop_after + 1:
                    self.close_connection = True
                    return  # no terminating chunk: the client sees a broken stream
                if reply.error_after is not None and index == reply.error_after + 1:
                    self._chunk({"error": {"message": "the model crashed"}})
                    break
                self._chunk(event)
            self._raw(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _chunk(self, payload: object) -> None:
            self._raw(b"data: " + json.dumps(payload).encode() + b"\n\n")

        def _raw(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _events(reply: Reply, body: dict[str, Any], model: str) -> Iterator[dict[str, Any]]:
    """The chunks of `reply`: a role chunk, text pieces, tool-call deltas, the finish chunk,
    and usage when the request asked for it."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for start in range(0, len(reply.text), reply.piece):
        yield chunk({"content": reply.text[start : start + reply.piece]})
    for index, call in enumerate(reply.tool_calls):
        half = len(call.arguments) // 2
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id or f"call_{index}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments[:half]},
                    }
                ]
            }
        )
        yield chunk(
            {"tool_calls": [{"index": index, "function": {"arguments": call.arguments[half:]}}]}
        )
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    wants_usage = (body.get("stream_options") or {}).get("include_usage")
    if wants_usage and reply.report_usage:
        completion = reply.completion_tokens
        if completion is None:
            completion = max(len(reply.text) // 4, 1)
        yield {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": reply.prompt_tokens + completion,
            },
        }
