"""The support service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from datetime import timedelta

from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings
from agora.support.assistant import Assistant
from agora.support.chat import SupportChat
from agora.support.chat_signals import ConversationSignals
from agora.support.consumers import support_consumers
from agora.support.embeddings import TextEmbedder
from agora.support.jobs import ConversationRetention
from agora.support.llm import chat_model
from agora.support.service import SupportService
from agora.support.settings import SupportSettings
from agora.support.shop_tools import grpc_tools_factory
from agora.support.tools import ToolsFactory

SERVICE = "support"


def compose(
    backends: Backends,
    settings: SupportSettings,
    embedder: TextEmbedder | None = None,
    tools_factory: ToolsFactory | None = None,
) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs, and the model's client to close),
    built but not serving: `run` installs them on the host, integration tests on their own
    server."""
    add = support_pb2_grpc.add_SupportServiceServicer_to_server
    sessions = session_factory(backends.engine)
    config = settings.llm_config()
    model = chat_model(config) if config else None
    assistant = Assistant(model, settings.assistant_policy())
    signals = ConversationSignals(backends.engine)
    chat = SupportChat(
        backends.engine,
        assistant,
        tools_factory or grpc_tools_factory(backends.channels, backends.engine),
        signals,
        settings.chat_limits(),
        answer_timeout_s=settings.chat_answer_timeout_s,
    )
    retention = ConversationRetention(
        backends.engine,
        retention=timedelta(days=settings.conversation_retention_days),
        idle_close=timedelta(hours=settings.conversation_idle_close_hours),
        interval_s=settings.conversation_retention_interval_s,
        signals=signals,
    )
    return ServiceParts(
        servicers=[Servicer(add, SupportService(backends.engine, chat))],
        consumers=support_consumers(backends.js, sessions, embedder or TextEmbedder()),
        jobs=[signals, retention],
        closers=[model.aclose] if model is not None else [],
    )


async def run(platform: PlatformSettings, settings: SupportSettings | None = None) -> None:
    """Serve the support service until cancelled."""
    settings = settings or SupportSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
