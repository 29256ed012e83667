"""Message envelopes: both header styles written and read, malformed ones refused."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from custodian_app.xfs4iot import messages
from custodian_app.xfs4iot.errors import XfsReplyError


def test_a_2023_command_carries_version_and_timeout_in_its_header():
    doc = json.loads(
        messages.encode_command("Storage.SetStorage", 7, {"storage": {}}, style="2023", timeout_ms=5000)
    )
    assert doc["header"] == {
        "name": "Storage.SetStorage",
        "requestId": 7,
        "type": "command",
        "version": "2.1",
        "timeout": 5000,
    }
    assert doc["payload"] == {"storage": {}}
    empty = json.loads(messages.encode_command("Storage.GetStorage", 8, None, style="2023"))
    assert empty["payload"] is None and empty["header"]["version"] == "2.0"


def test_a_2021_command_carries_its_timeout_in_the_payload_and_no_version():
    doc = json.loads(messages.encode_command("Storage.GetStorage", 1, None, style="2021", timeout_ms=900))
    assert doc == {
        "header": {"name": "Storage.GetStorage", "requestId": 1, "type": "command"},
        "payload": {"timeout": 900},
    }


@pytest.mark.parametrize("style", messages.STYLES)
def test_completions_and_acknowledges_read_the_same_in_both_styles(style):
    done = messages.decode(
        messages.encode_completion(
            "Storage.StartExchange",
            3,
            {"errorCode": "exchangeActive"},
            style=style,
            code="commandErrorCode",
            description="already open",
        )
    )
    assert (done.type, done.request_id, done.completion_code, done.error_description) == (
        "completion",
        3,
        "commandErrorCode",
        "already open",
    )
    assert done.payload["errorCode"] == "exchangeActive"
    assert done.version == ("2.0" if style == "2023" else None)
    ack = messages.decode(messages.encode_acknowledge("Storage.GetStorage", 3, style=style))
    assert ack.type == "acknowledge" and ack.ack_status in (None, "ok")
    refused = messages.decode(
        messages.encode_acknowledge("Storage.GetStorage", 3, style=style, status="tooManyRequests")
    )
    assert refused.ack_status == "tooManyRequests"


def test_unsolicited_events_in_either_form():
    assert messages.decode(
        messages.encode_event("Storage.StorageThresholdEvent", None, {}, style="2023")
    ).unsolicited
    kal_form = (
        '{"header":{"name":"Storage.StorageChangedEvent","requestId":null,"type":"event"},"payload":{}}'
    )
    assert messages.decode(kal_form).unsolicited
    assert not messages.decode(
        messages.encode_event("Storage.StorageErrorEvent", 4, {}, style="2021")
    ).unsolicited


def test_fractions_are_read_as_decimal_never_float():
    msg = messages.decode(
        '{"header":{"name":"x","requestId":1,"type":"completion","completionCode":"success"},'
        '"payload":{"value":0.1}}'
    )
    assert msg.payload["value"] == Decimal("0.1") and isinstance(msg.payload["value"], Decimal)


@pytest.mark.parametrize(
    "raw, where",
    [
        ("not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ('{"payload":{}}', "no header"),
        ('{"header":{"name":"","requestId":1,"type":"command"}}', "header.name"),
        ('{"header":{"name":"x","requestId":1,"type":"reply"}}', "header.type"),
        ('{"header":{"name":"x","requestId":-1,"type":"event"}}', "requestId"),
        ('{"header":{"name":"x","requestId":1,"type":"event"},"payload":[1]}', "payload"),
        ('{"header":{"name":"x","requestId":1,"type":"completion"},"payload":{}}', "no completionCode"),
        ('{"header":{"name":"x","requestId":1,"type":"completion","completionCode":5}}', "completionCode"),
        ('{"header":{"name":"x","requestId":1,"type":"event"},"payload":{"v":NaN}}', "not JSON"),
    ],
)
def test_malformed_messages_are_refused_in_both_languages(raw, where):
    with pytest.raises(XfsReplyError) as err:
        messages.decode(raw)
    assert where in err.value.english and "已整体拒收" in err.value.chinese


def test_an_unknown_style_is_a_programming_error():
    with pytest.raises(ValueError, match="header style"):
        messages.encode_command("x", 1, None, style="2019")
