"""The gateway's channels give long-lived streams no default deadline: the live dashboard feed
and the support chat stay open until their bridges end them, while file downloads (HttpBody
streams) and unary calls keep the platform's timeout."""

from __future__ import annotations

import json

from agora.gateway.bootstrap import long_lived_streams
from agora.gateway.descriptors import read_descriptor_set
from agora.platform.rpc.client import service_config


def test_event_streams_and_websocket_bridges_have_no_default_deadline() -> None:
    streams = long_lived_streams(read_descriptor_set())
    assert streams["agora.admin.v1.AnalyticsService/WatchDashboard"] is None
    assert streams["agora.support.v1.SupportService/Chat"] is None


def test_downloads_and_unary_calls_keep_the_default_deadline() -> None:
    streams = long_lived_streams(read_descriptor_set())
    assert "agora.admin.v1.ReportsService/ExportReport" not in streams
    assert "agora.admin.v1.AnalyticsService/GetSales" not in streams
    config = json.loads(json.dumps(service_config(5.0, streams)))
    by_method = {
        (n.get("service", ""), n.get("method", "")): c.get("timeout")
        for c in config["methodConfig"]
        for n in c["name"]
    }
    assert by_method[("", "")] == "5.000s"
    assert by_method[("agora.admin.v1.AnalyticsService", "WatchDashboard")] is None
