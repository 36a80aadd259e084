"""How client channels are configured: targets over live addresses, timeouts and retries."""

from __future__ import annotations

import json

import pytest

from agora.platform.rpc.client import channel_target, service_config


def test_ipv4_addresses_make_one_balanced_target() -> None:
    target = channel_target(["127.0.0.1:8711", "127.0.0.1:8721"])
    assert target == "ipv4:127.0.0.1:8711,127.0.0.1:8721"


def test_ipv6_addresses_make_an_ipv6_target() -> None:
    assert channel_target(["[::1]:8711"]) == "ipv6:[::1]:8711"


def test_a_single_host_name_is_resolved_by_grpc_dns() -> None:
    assert channel_target(["catalog:8711"]) == "dns:///catalog:8711"


def test_several_host_names_are_resolved_into_one_target() -> None:
    assert channel_target(["localhost:8711", "127.0.0.2:8711"]) == (
        "ipv4:127.0.0.1:8711,127.0.0.2:8711"
    )


def test_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match="no address"):
        channel_target([])


def test_every_method_gets_a_timeout_and_retries_unavailable() -> None:
    config = service_config(timeout_s=2.5, max_attempts=4)
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    [default] = config["methodConfig"]
    assert default["name"] == [{}]
    assert default["timeout"] == "2.500s"
    assert default["retryPolicy"]["maxAttempts"] == 4
    assert default["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    json.dumps(config)


def test_services_and_methods_can_have_their_own_timeout_or_none() -> None:
    config = service_config(
        timeouts={"agora.support.v1.SupportService/Chat": None, "agora.admin.v1.Reports": 60}
    )
    chat, reports = config["methodConfig"][1:]
    assert chat["name"] == [{"service": "agora.support.v1.SupportService", "method": "Chat"}]
    assert "timeout" not in chat
    assert reports["name"] == [{"service": "agora.admin.v1.Reports"}]
    assert reports["timeout"] == "60.000s"
