"""The support chat: one `Chat` stream per participant (a customer, a guest, a staff member).

`SupportChat.stream` opens or resumes the conversation named by the first client message
(`start`), then runs three things until the client goes away or the conversation closes:
reading the client's messages (`say`, `cancel`, `close`), following the conversation's signals
(what the other side said, hand-overs, from any replica: `chat_signals.py`), and at most one
answer of the assistant. Everything said is stored before anyone sees it as a `message`; answer
deltas go only to the stream that asked. A close ends every stream on the conversation.

The tools act with the caller's own credentials (`CustomerAccess`): the `authorization` the
customer sent, or the guest's order and access token, which is checked with orders when the
stream starts (through the same tools) and never stored. Logs name conversations, never text.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.db import session_factory, transaction
from agora.platform.errors import (
    TOKEN_MISSING,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from agora.platform.kernel.checks import canonical_id, require_text
from agora.platform.kernel.clock import utcnow
from agora.platform.security.permissions import SUPPORT_CONVERSATIONS_WRITE
from agora.platform.security.principal import Principal, current_principal
from agora.support import chat_store, events
from agora.support.answers import HANDOVER_OFFER
from agora.support.assistant import (
    Assistant,
    AssistantOutput,
    ConfirmationRequest,
    HandoverChange,
    ReplyRecord,
    TextDelta,
    ToolNotice,
)
from agora.support.chat_signals import ConversationSignals, Signal, SignalKind
from agora.support.conversation import Speaker
from agora.support.domain import (
    HISTORY_SHOWN,
    ChatLimits,
    Conversation,
    Participant,
    Party,
    Status,
    StoredMessage,
    after_answer,
    assistant_answers,
    belongs_to,
    check_may_say,
    close_by,
    new_conversation,
    offering_handover,
    rate_limited,
    take_over,
)
from agora.support.llm import Failure
from agora.support.tools import CustomerAccess, ToolError, ToolFailure, ToolsFactory
from agora.support.translation import chat_message_pb, handover_pb
from agora.support.understanding import check_message

log = structlog.get_logger(__name__)

MAX_CLIENT_MESSAGE_ID = 64
MODEL_FAILURES = frozenset(
    {Failure.TIMEOUT, Failure.CONNECTION, Failure.RATE_LIMITED, Failure.SERVER_ERROR,
     Failure.REJECTED, Failure.EMPTY, Failure.COOLDOWN}
)  # fmt: skip
RATE_LIMITED = "You are sending messages too fast; please wait a minute."
TOO_SLOW = "Sorry, this is taking too long. " + HANDOVER_OFFER

Outgoing = pb.ChatServerMessage | BaseException | None


@dataclass(frozen=True)
class Opened:
    conversation: Conversation
    participant: Participant
    access: CustomerAccess | None  # None for staff: the assistant never acts for them


@dataclass(frozen=True)
class Accepted:
    message: StoredMessage
    conversation: Conversation
    answer: bool  # the assistant answers it (the claim on the conversation is taken)


@dataclass(frozen=True)
class Refused:
    code: str  # rate_limited, busy
    text: str


@dataclass(frozen=True)
class Repeated:
    messages: list[StoredMessage]  # the retried message and its answer, if any


class SupportChat:
    """The chat of one service process: every stream served here, the assistant they share."""

    def __init__(
        self,
        engine: AsyncEngine,
        assistant: Assistant,
        tools_factory: ToolsFactory,
        signals: ConversationSignals,
        limits: ChatLimits,
        *,
        answer_timeout_s: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.assistant = assistant
        self.tools_factory = tools_factory
        self.signals = signals
        self.limits = limits
        self.answer_timeout_s = answer_timeout_s
        self.clock = clock
        # Streams and answers running in this process (an abandoned stream must leave none).
        self.streams = 0
        self.answers = 0

    async def stream(
        self, requests: AsyncIterator[pb.ChatClientMessage], authorization: str
    ) -> AsyncIterator[pb.ChatServerMessage]:
        """The server's side of one `Chat` call."""
        first = await anext(aiter(requests), None)
        if first is None:
            return
        if first.WhichOneof("kind") != "start":
            raise InvalidArgument.for_field("start", "the first message must be start")
        opened = await self.open(first.start, current_principal(), authorization)
        self.streams += 1
        try:
            async for out in _Stream(self, opened, requests).run():
                yield out
        finally:
            self.streams -= 1

    # --- opening ---

    async def open(self, start: pb.ChatStart, principal: Principal, authorization: str) -> Opened:
        """The conversation `start` names (or a new one) with who is on the stream; NOT_FOUND
        for a conversation that is not the caller's, whatever the reason."""
        if start.take_over:
            return await self._take_over(start, principal)
        conversation_id = _optional_id(start.conversation_id, "start.conversationId")
        participant, access = await self._participant(start, principal, authorization)
        if conversation_id is None:
            found: Conversation | None = await self._new(participant)
        else:
            async with self._reads.connect() as conn:
                found = await chat_store.conversation(conn, conversation_id)
        if found is None or not belongs_to(found, participant):
            raise NotFound("conversation", conversation_id or "")
        # The tools key the changes they ask for (cancel, return) on the conversation.
        return Opened(found, participant, replace(access, conversation_id=found.id))

    async def _participant(
        self, start: pb.ChatStart, principal: Principal, authorization: str
    ) -> tuple[Participant, CustomerAccess]:
        if start.order_id:
            order_id = _optional_id(start.order_id, "start.orderId")
            assert order_id is not None
            token = require_text(start.access_token, "start.accessToken", max_len=128)
            access = CustomerAccess("", guest_order_id=order_id, guest_access_token=token)
            await self._check_guest(access, order_id)
            return Participant(Party.GUEST, order_id=order_id), access
        customer_id = canonical_id(principal.subject) if principal.kind == "user" else None
        if customer_id is None:
            raise Unauthenticated(
                "sign in, or name your order and its access token", reason=TOKEN_MISSING
            )
        access = CustomerAccess(authorization, customer_id=customer_id)
        return Participant(Party.CUSTOMER, customer_id), access

    async def _check_guest(self, access: CustomerAccess, order_id: str) -> None:
        """The guest holds the order's token: orders shows them the order (GetOrder with it)."""
        try:
            await self.tools_factory(access).order_status(order_id)
        except ToolError as error:
            if error.kind is ToolFailure.UNAVAILABLE:
                raise Unavailable("orders cannot be reached to check the order") from None
            raise NotFound("order", order_id) from None

    async def _new(self, participant: Participant) -> Conversation:
        conversation = new_conversation(str(uuid.uuid4()), participant, self.clock())
        async with transaction(self._sessions) as session:
            await chat_store.add_conversation(session, conversation)
            await events.record_started(session, conversation)
        log.info("support_conversation_started", conversation_id=conversation.id)
        return conversation

    async def _take_over(self, start: pb.ChatStart, principal: Principal) -> Opened:
        if not principal.can(SUPPORT_CONVERSATIONS_WRITE):
            raise PermissionDenied.missing(SUPPORT_CONVERSATIONS_WRITE)
        conversation_id = _optional_id(start.conversation_id, "start.conversationId")
        if conversation_id is None:
            raise InvalidArgument.for_field("start.conversationId", "the conversation to take over")
        staff = Participant(Party.STAFF, principal.subject)
        async with transaction(self._sessions) as session:
            found = await chat_store.conversation(session, conversation_id, lock=True)
            if found is None:
                raise NotFound("conversation", conversation_id)
            taken = take_over(found, staff.subject, self.clock())
            if taken is not found:
                await chat_store.save_conversation(session, taken)
                await events.record_handed_over(session, taken)
                await self.signals.record(session, Signal(taken.id, SignalKind.HANDOVER))
        if taken is not found:
            self.signals.deliver(Signal(taken.id, SignalKind.HANDOVER))
            log.info("support_conversation_taken_over", conversation_id=taken.id)
        return Opened(taken, staff, None)

    # --- saying ---

    async def accept(
        self, conversation_id: str, participant: Participant, text: str, client_id: str | None
    ) -> Accepted | Refused | Repeated:
        """Store what the participant said, unless it was said before, is over a rate limit,
        or the assistant is still answering; claim the answer when the assistant will give
        one."""
        now = self.clock()
        async with transaction(self._sessions) as session:
            found = await chat_store.conversation(session, conversation_id, lock=True)
            if found is None:
                raise NotFound("conversation", conversation_id)
            check_may_say(found, participant)
            if client_id is not None:
                before = await chat_store.said(session, conversation_id, client_id)
                if before:
                    return Repeated(before)
            since = now - timedelta(seconds=self.limits.window_s)
            counts = await chat_store.recent_messages(session, conversation_id, participant, since)
            if rate_limited(*counts, self.limits):
                return Refused("rate_limited", RATE_LIMITED)
            answer = assistant_answers(found, participant)
            if answer and found.answering(now, self.limits):
                return Refused("busy", "Please wait until the answer is written.")
            said = StoredMessage(
                str(uuid.uuid4()), conversation_id, participant.speaker, text, client_id, now
            )
            await chat_store.add_message(session, said)
            conversation = replace(
                found, updated_at=now, answering_since=now if answer else found.answering_since
            )
            await chat_store.save_conversation(session, conversation)
            await self.signals.record(session, Signal(conversation_id, SignalKind.MESSAGE, said.id))
        self.signals.deliver(Signal(conversation_id, SignalKind.MESSAGE, said.id))
        return Accepted(said, conversation, answer)

    async def store_answer(
        self,
        customer_message: StoredMessage,
        reply: StoredMessage | None,
        record: ReplyRecord | None,
        reason: str | None,
        first_output_at: datetime | None,
        *,
        offer_handover: bool = False,
    ) -> Conversation:
        """Store the answer (or what was written of it) and the conversation's next state;
        release the claim. `record` is None for an answer that did not finish: the state
        stays as it was, with the offer of a person when `offer_handover`."""
        now = self.clock()
        conversation_id = customer_message.conversation_id
        async with transaction(self._sessions) as session:
            found = await chat_store.conversation(session, conversation_id, lock=True)
            if found is None:  # deleted meanwhile (retention)
                raise NotFound("conversation", conversation_id)
            if reply is not None:
                await chat_store.add_message(session, reply)
                await self.signals.record(
                    session, Signal(conversation_id, SignalKind.MESSAGE, reply.id)
                )
            if found.status is Status.CLOSED:  # closed meanwhile: it stays closed
                updated = found
            elif record is None or not record.answered:
                updated = replace(found, answering_since=None, updated_at=now)
                if offer_handover:
                    updated = replace(updated, state=offering_handover(found.state))
            else:
                updated = after_answer(
                    found,
                    record.state,
                    tokens_in=record.usage.prompt_tokens,
                    tokens_out=record.usage.completion_tokens,
                    reason=reason,
                    now=now,
                )
                if found.first_answer_at is None and reply is not None:
                    waited = (first_output_at or now) - customer_message.created_at
                    await events.record_answered(session, updated, waited)
                if updated.status is not found.status:
                    await events.record_handed_over(session, updated)
                    await self.signals.record(session, Signal(conversation_id, SignalKind.HANDOVER))
            await chat_store.save_conversation(session, updated)
        if reply is not None:
            self.signals.deliver(Signal(conversation_id, SignalKind.MESSAGE, reply.id))
        if updated.status is not found.status:
            self.signals.deliver(Signal(conversation_id, SignalKind.HANDOVER))
        return updated

    async def close(self, conversation_id: str, participant: Participant) -> Conversation:
        """Close the conversation for `participant` (once: a second close changes nothing and
        announces nothing) and tell its other streams."""
        async with transaction(self._sessions) as session:
            found = await chat_store.conversation(session, conversation_id, lock=True)
            if found is None:
                raise NotFound("conversation", conversation_id)
            closed = close_by(found, participant, self.clock())
            if closed is not found:
                await chat_store.save_conversation(session, closed)
                count = await chat_store.message_count(session, conversation_id)
                await events.record_closed(session, closed, count)
                await self.signals.record(session, Signal(conversation_id, SignalKind.HANDOVER))
        if closed is not found:
            self.signals.deliver(Signal(conversation_id, SignalKind.HANDOVER))
            log.info(
                "support_conversation_closed",
                conversation_id=conversation_id,
                by=participant.party.value,
            )
        return closed

    # --- reading ---

    async def history(self, conversation_id: str) -> list[StoredMessage]:
        async with self._reads.connect() as conn:
            return await chat_store.latest_messages(conn, conversation_id, HISTORY_SHOWN)

    async def message(self, message_id: str) -> StoredMessage | None:
        async with self._reads.connect() as conn:
            return await chat_store.message(conn, message_id)

    async def conversation(self, conversation_id: str) -> Conversation | None:
        async with self._reads.connect() as conn:
            return await chat_store.conversation(conn, conversation_id)


@dataclass
class _Stream:
    """One participant's stream: its outgoing queue, the answer being written, and what it
    was sent already (a message reaches a stream once, whichever path brings it first)."""

    chat: SupportChat
    opened: Opened
    requests: AsyncIterator[pb.ChatClientMessage]
    out: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)
    answer: asyncio.Task[None] | None = None
    sent: set[str] = field(default_factory=set)
    handover: tuple[Status, str | None] | None = None
    ended: bool = False  # the CLOSED frame was sent: nothing follows it

    @property
    def conversation_id(self) -> str:
        return self.opened.conversation.id

    async def run(self) -> AsyncIterator[pb.ChatServerMessage]:
        with self.chat.signals.subscribe(self.conversation_id) as signals:
            yield await self._started()
            tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._follow(signals))]
            try:
                while (item := await self.out.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                running = [*tasks, *([self.answer] if self.answer is not None else [])]
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    async def _started(self) -> pb.ChatServerMessage:
        conversation = self.opened.conversation
        history = await self.chat.history(conversation.id)
        self.sent.update(m.id for m in history)
        self.handover = (conversation.status, conversation.reason)
        return self._server(
            started=pb.ChatStarted(
                conversation_id=conversation.id,
                handover=handover_pb(conversation).state,
                history=[chat_message_pb(m) for m in history],
            )
        )

    def _server(self, **kind: object) -> pb.ChatServerMessage:
        return pb.ChatServerMessage(conversation_id=self.conversation_id, **kind)  # type: ignore[arg-type]

    def _send(self, **kind: object) -> None:
        self.out.put_nowait(self._server(**kind))

    def _send_message(self, message: StoredMessage) -> None:
        if message.id not in self.sent:
            self.sent.add(message.id)
            self._send(message=chat_message_pb(message))

    def _notice(self, code: str, text: str) -> None:
        self._send(notice=pb.ChatNotice(code=code, text=text))

    def _send_handover(self, conversation: Conversation) -> None:
        if conversation.status is Status.CLOSED:
            self._end(conversation)
            return
        current = (conversation.status, conversation.reason)
        if current != self.handover:
            self.handover = current
            self._send(handover=handover_pb(conversation))

    def _end(self, conversation: Conversation) -> None:
        """The conversation is closed: the CLOSED frame once, then the stream ends normally."""
        if not self.ended:
            self.ended = True
            self.handover = (conversation.status, conversation.reason)
            self._send(handover=handover_pb(conversation))
            self.out.put_nowait(None)

    # --- the client's messages ---

    async def _read(self) -> None:
        try:
            async for request in self.requests:
                match request.WhichOneof("kind"):
                    case "say":
                        await self._say(request.say)
                    case "cancel":
                        await self._cancel()
                    case "close":
                        await self._close()
                        return
                    case "start":
                        raise InvalidArgument.for_field("start", "only the first message")
                    case _:
                        raise InvalidArgument("a client message needs start, say, cancel or close")
            if self.answer is not None:  # the client is done sending: finish the answer
                await asyncio.wait([self.answer])
            self.out.put_nowait(None)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.out.put_nowait(error)

    async def _say(self, say: pb.ChatSay) -> None:
        if len(say.text) > self.chat.limits.max_chars:
            limit = self.chat.limits.max_chars
            self._notice("too_long", f"Please keep a message under {limit} characters.")
            return
        try:
            text = check_message(say.text)
        except InvalidArgument as error:
            raise InvalidArgument(f"say.{error.message}", error.violations) from None
        client_id = _client_message_id(say.client_message_id)
        answering = self.answer is not None and not self.answer.done()
        if answering and client_id is None:
            self._notice("busy", "Please wait until the answer is written.")
            return
        outcome = await self.chat.accept(
            self.conversation_id, self.opened.participant, text, client_id
        )
        match outcome:
            case Repeated(messages=messages):
                # A retry is answered again, even on the stream that saw the first answer.
                for message in messages:
                    self.sent.add(message.id)
                    self._send(message=chat_message_pb(message))
            case Refused(code=code, text=notice):
                self._notice(code, notice)
            case Accepted(message=message, conversation=conversation, answer=answer):
                self._send_message(message)
                if answer:
                    self.answer = asyncio.create_task(self._answer(conversation, message))

    async def _cancel(self) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.cancel()
            await asyncio.gather(self.answer, return_exceptions=True)

    async def _close(self) -> None:
        """Stop this stream's answer (what was written is kept), close, end the stream."""
        await self._cancel()
        closed = await self.chat.close(self.conversation_id, self.opened.participant)
        self._end(closed)

    # --- the other side and the other replicas ---

    async def _follow(self, signals: asyncio.Queue[Signal]) -> None:
        try:
            while True:
                await self._relay(await signals.get())
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.out.put_nowait(error)

    async def _relay(self, signal: Signal) -> None:
        """Send what another stream or replica did, read from the tables."""
        if signal.kind == SignalKind.MESSAGE and signal.ref not in self.sent:
            message = await self.chat.message(signal.ref)
            if message is not None:
                self._send_message(message)
        elif signal.kind == SignalKind.HANDOVER:
            conversation = await self.chat.conversation(signal.conversation_id)
            if conversation is not None:
                self._send_handover(conversation)

    # --- the assistant's answer ---

    async def _answer(self, conversation: Conversation, said: StoredMessage) -> None:
        assert self.opened.access is not None
        self.chat.answers += 1
        answer = _Answer(str(uuid.uuid4()))
        try:
            try:
                async with asyncio.timeout(self.chat.answer_timeout_s):
                    await self._write(answer, conversation, said)
            except TimeoutError:
                log.warning("support_answer_timed_out", conversation_id=self.conversation_id)
                answer.text.append(("…\n\n" if answer.text else "") + TOO_SLOW)
                await self._interrupted(answer, said, offer_handover=True)
                self._notice("model_unavailable", TOO_SLOW)
                self._send(confirmation=pb.ChatConfirmation(action="handover", text=TOO_SLOW))
                return
            except asyncio.CancelledError:
                # Stopped by the customer or the stream went away: keep what was written.
                await self._interrupted(answer, said, cancelled=True)
                self._notice("cancelled", "The answer was stopped.")
                raise
            await self._finish(answer, said)
        finally:
            self.chat.answers -= 1

    async def _write(
        self, answer: _Answer, conversation: Conversation, said: StoredMessage
    ) -> None:
        assert self.opened.access is not None
        tools = self.chat.tools_factory(self.opened.access)
        # `respond` is an async generator: closed at once when the answer is stopped.
        respond = cast(
            AsyncGenerator[AssistantOutput, None],
            self.chat.assistant.respond(conversation.state, said.text, tools),
        )
        async with aclosing(respond) as outputs:
            async for output in outputs:
                answer.first_output_at = answer.first_output_at or self.chat.clock()
                match output:
                    case TextDelta(text=text):
                        answer.text.append(text)
                        self._send(delta=pb.ChatDelta(message_id=answer.id, text=text))
                    case ToolNotice(tool=tool, text=text):
                        self._send(tool=pb.ChatToolNotice(tool=tool, text=text))
                    case ConfirmationRequest(action=action, text=text):
                        confirmation = pb.ChatConfirmation(
                            action=action.kind.value, order_id=action.order_id, text=text
                        )
                        self._send(confirmation=confirmation)
                    case HandoverChange(reason=reason):
                        answer.reason = reason.value
                    case ReplyRecord():
                        answer.record = output

    async def _interrupted(
        self,
        answer: _Answer,
        said: StoredMessage,
        *,
        cancelled: bool = False,
        offer_handover: bool = False,
    ) -> None:
        reply = answer.stored(said, cancelled=cancelled) if answer.text else None
        with contextlib.suppress(NotFound):
            await self.chat.store_answer(
                said, reply, None, None, answer.first_output_at, offer_handover=offer_handover
            )
        if reply is not None:
            self._send_message(reply)

    async def _finish(self, answer: _Answer, said: StoredMessage) -> None:
        record = answer.record
        reply = answer.stored(said) if record is not None and record.answered else None
        conversation = await self.chat.store_answer(
            said, reply, record, answer.reason, answer.first_output_at
        )
        if reply is not None:
            self._send_message(reply)
        self._send_handover(conversation)
        if record is None:
            return
        if record.failure is Failure.BUDGET:
            self._notice("budget_exhausted", "This conversation has used up its answer budget.")
        elif record.degraded and record.failure in MODEL_FAILURES:
            self._notice("model_unavailable", "Answers are limited right now.")
        if record.handover_offered:
            self._send(confirmation=pb.ChatConfirmation(action="handover", text=HANDOVER_OFFER))


@dataclass
class _Answer:
    """What one answer has produced so far."""

    id: str
    text: list[str] = field(default_factory=list)
    record: ReplyRecord | None = None
    reason: str | None = None
    first_output_at: datetime | None = None

    def stored(self, said: StoredMessage, *, cancelled: bool = False) -> StoredMessage:
        record = self.record
        return StoredMessage(
            id=self.id,
            conversation_id=said.conversation_id,
            speaker=Speaker.ASSISTANT,
            text="".join(self.text) if record is None else record.text,
            client_message_id=said.client_message_id,
            created_at=utcnow(),
            cancelled=cancelled,
            tokens_in=record.usage.prompt_tokens if record else 0,
            tokens_out=record.usage.completion_tokens if record else 0,
            model=record.model if record and record.model_used else "",
        )


def _optional_id(value: str, path: str) -> str | None:
    if not value:
        return None
    found = canonical_id(value)
    if found is None:
        raise InvalidArgument.for_field(path, "not a valid id")
    return found


def _client_message_id(value: str) -> str | None:
    if not value:
        return None
    found = require_text(value, "say.clientMessageId", max_len=MAX_CLIENT_MESSAGE_ID)
    if not found.isprintable():
        raise InvalidArgument.for_field("say.clientMessageId", "printable characters only")
    return found
