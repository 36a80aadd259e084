"""Shutdown: the support service on the real `service_host` closes the model's HTTP client once
it stops serving (the host closes what the composed parts hold)."""

from __future__ import annotations

from pathlib import Path

from assistant_shop import ShopTools, order
from chat_support import Chat, ShopDesk, customer, of_kind
from llm_scripted_server import Reply, ScriptedLLM
from security_support import SecurityFiles

from agora.platform.net import free_port
from agora.platform.runtime import service_host
from agora.platform.settings import PlatformSettings
from agora.support.bootstrap import SERVICE, compose
from agora.support.embeddings import TextEmbedder
from agora.support.llm import OpenAICompatibleModel
from agora.support.service import SupportService
from agora.support.settings import SupportSettings
from agora.support.tools import OrderState

SHIPPED = order(OrderState.SHIPPED, carrier="DHL", tracking_number="JD0001")


async def test_the_models_client_is_closed_when_the_service_stops(
    database_url: str,
    nats_url: str,
    tmp_path: Path,
    security_files: SecurityFiles,
    support_embedder: TextEmbedder,
) -> None:
    platform = PlatformSettings(
        database_url=database_url,
        nats_url=nats_url,
        discovery=False,
        data_dir=tmp_path,
        auth_jwks_file=security_files.jwks_path,
        service_key_file=security_files.service_key_path,
    )
    desk = ShopDesk()
    with ScriptedLLM() as llm:
        settings = SupportSettings(
            port=free_port(), llm_base_url=llm.base_url, llm_model=llm.model, llm_max_retries=0
        )
        llm.script(Reply("Order shipped with DHL, tracking number JD0001."))
        async with service_host(SERVICE, platform, settings) as host:
            parts = compose(host.backends, settings, support_embedder, tools_factory=desk)
            host.install(parts)
            service = parts.servicers[0].implementation
            assert isinstance(service, SupportService)
            model = service.chat.assistant.model
            assert isinstance(model, OpenAICompatibleModel)
            await host.server.start()

            customer_id, authorization = customer()
            desk.customers[customer_id] = ShopTools(orders=[SHIPPED])
            chat = Chat(host.server.address, authorization)
            await chat.start()
            await chat.say(f"where is my order {SHIPPED.id[:8]}?")
            answer = of_kind(await chat.answer(), "message")[-1]
            await chat.close()
            assert len(llm.requests) == 1  # the model wrote it: its client is in use
            assert "JD0001" in answer.text  # type: ignore[attr-defined]
            assert not model._client.is_closed()
        assert model._client.is_closed()
