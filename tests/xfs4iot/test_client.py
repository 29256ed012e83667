"""The client against the simulator on loopback: every path a custodian can meet."""

from __future__ import annotations

import socket
import threading

import pytest

from custodian_app.xfs4iot import messages
from custodian_app.xfs4iot.errors import (
    XfsCancelled,
    XfsCommandFailed,
    XfsConnectionLost,
    XfsRefused,
    XfsReplyError,
    XfsServiceNotFound,
    XfsTimeout,
    XfsUnreachable,
)
from custodian_app.xfs4iot.simulator import CARD_SERVICE

from .conftest import UNITS, pump_until

NEW = {"CST1": 2500, "CST2": 1500, "RC1": 800, "CIN1": 0, "RJ1": 0, "RTR1": 0}


def names(sim):
    return [m.name for m in sim.simulator.received]


@pytest.mark.parametrize("style", messages.STYLES)
def test_reads_the_units_exactly_and_loads_the_new_cycle(simulator, client, style):
    sim = simulator(style=style)
    xfs = client(sim.publisher_url, style=style)
    assert xfs.read_units() == UNITS
    assert xfs.service_url.endswith("/CashDispenser1")  # the card reader was passed over
    after = xfs.exchange(NEW)
    assert {r.unit["id"]: r.unit["initial"] for r in after} == NEW
    assert all(not any(r.unit["out"].values()) and not any(r.unit["in"].values()) for r in after)
    assert {r.accuracy for r in after} == {"accurateSet"}
    assert names(sim)[-5:] == [
        "Storage.GetStorage",
        "Storage.StartExchange",
        "Storage.SetStorage",
        "Storage.EndExchange",
        "Storage.GetStorage",
    ]
    set_storage = sim.simulator.received[-3]
    assert set_storage.payload["storage"]["unit1"] == {
        "cash": {"status": {"initial": {"type100CNY1": {"fit": 2500}}}}
    }
    assert set_storage.version == ("2.1" if style == "2023" else None)
    assert not sim.simulator.exchange_active


def test_request_ids_are_unique_per_connection(simulator, client):
    sim = simulator()
    xfs = client(sim.publisher_url)
    xfs.read_units()
    xfs.read_units()
    # On the cash service's connection: Common.Capabilities was 1.
    assert [m.request_id for m in sim.simulator.received if m.name == "Storage.GetStorage"] == [2, 3]


def test_follows_threshold_and_change_events(simulator, client):
    sim = simulator()
    seen = []
    xfs = client(sim.publisher_url, on_storage_event=seen.append)
    xfs.read_units()
    sim.call(sim.simulator.threshold("CST2", "low"))
    pump_until(xfs, lambda: seen)
    assert (seen[0].name, seen[0].unit_ids, seen[0].replenishment) == (
        "Storage.StorageThresholdEvent",
        ("CST2",),
        {"CST2": "low"},
    )
    xfs.exchange(NEW)
    changed = [e for e in seen if e.name == "Storage.StorageChangedEvent"]
    assert changed and set(changed[0].unit_ids) == set(NEW)


def test_a_callback_that_raises_does_not_break_the_client(simulator, client):
    sim = simulator()

    def broken(event):
        raise RuntimeError("the caller's bug")

    xfs = client(sim.publisher_url, on_storage_event=broken)
    xfs.exchange(NEW)  # a StorageChangedEvent arrives during it
    assert xfs.read_units()[0]["initial"] == 2500


def test_no_answer_times_out_and_cancels_the_command(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "no-answer"})
    xfs = client(sim.publisher_url, timeout=0.3)
    with pytest.raises(XfsTimeout) as err:
        xfs.read_units()
    assert err.value.command == "Storage.GetStorage"
    assert "did not even acknowledge" in err.value.english
    assert "已取消该命令" in err.value.chinese
    stuck, cancel = sim.simulator.received[-2:]
    assert cancel.name == "Common.Cancel" and cancel.payload["requestIds"] == [stuck.request_id]
    sim.call(lambda: sim.simulator.set_fault("Storage.GetStorage", None))
    assert xfs.read_units() == UNITS  # the connection is still good


def test_a_service_deaf_even_to_cancel_still_times_out(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "deaf", "Common.Cancel": "deaf"})
    xfs = client(sim.publisher_url, timeout=0.3)
    with pytest.raises(XfsTimeout):
        xfs.read_units()


def test_slow_answers_within_the_time_allowed_are_fine(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "slow"}, slow_seconds=0.2)
    assert client(sim.publisher_url, timeout=10).read_units() == UNITS


def test_a_slow_answer_past_the_time_allowed_is_cancelled(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "slow"}, slow_seconds=30)
    xfs = client(sim.publisher_url, timeout=0.3)
    with pytest.raises(XfsTimeout) as err:
        xfs.read_units()
    assert "did not even acknowledge" not in err.value.english  # it was acknowledged
    assert names(sim)[-1] == "Common.Cancel"


def test_a_hardware_error_completion(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "hardware-error"})
    with pytest.raises(XfsCommandFailed) as err:
        client(sim.publisher_url).read_units()
    e = err.value
    assert (e.command, e.completion_code) == ("Storage.GetStorage", "hardwareError")
    assert "pick module" in e.description and "clear the fault" in e.english and "硬件故障" in e.chinese


@pytest.mark.parametrize("style", messages.STYLES)
def test_a_refusing_acknowledge(simulator, client, style):
    sim = simulator(style=style, faults={"Storage.GetStorage": "refuse"})
    with pytest.raises(XfsRefused) as err:
        client(sim.publisher_url, timeout=60).read_units()
    assert "tooManyRequests" in err.value.english and "拒绝" in err.value.chinese


def test_an_error_code_is_named(simulator, client):
    sim = simulator()
    sim.simulator.exchange_active = True  # someone left an exchange open
    with pytest.raises(XfsCommandFailed) as err:
        client(sim.publisher_url).exchange(NEW)
    assert (err.value.completion_code, err.value.error_code) == ("commandErrorCode", "exchangeActive")
    assert "already open" in err.value.english and "已有加钞交换" in err.value.chinese


def test_a_failed_set_storage_still_ends_the_exchange(simulator, client):
    sim = simulator(faults={"Storage.SetStorage": "hardware-error"})
    with pytest.raises(XfsCommandFailed, match="SetStorage"):
        client(sim.publisher_url).exchange(NEW)
    assert names(sim)[-2:] == ["Storage.SetStorage", "Storage.EndExchange"]
    assert not sim.simulator.exchange_active
    assert sim.simulator.storage["unit1"]["cash"]["status"]["initial"] == {
        "unrecognized": 0,
        "type100CNY1": {"fit": 2000},
    }  # the old counters stand


def test_a_socket_dropped_mid_exchange(simulator, client):
    sim = simulator(faults={"Storage.SetStorage": "drop"})
    xfs = client(sim.publisher_url)
    with pytest.raises(XfsConnectionLost) as err:
        xfs.exchange(NEW)
    assert "Storage.SetStorage" in err.value.english and "repeated" in err.value.english
    assert "须重做" in err.value.chinese
    assert sim.simulator.exchange_active  # half done, as the words say
    sim.call(lambda: sim.simulator.set_fault("Storage.SetStorage", None))
    sim.simulator.exchange_active = False  # the ATM's operator ended it
    assert [r.unit["initial"] for r in xfs.exchange(NEW)] == list(NEW.values())  # reconnects


def test_cancel_from_another_thread(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "no-answer"})
    xfs = client(sim.publisher_url, timeout=60)
    xfs.connect()
    stuck = threading.Event()

    def cancel_when_sent():
        for _ in range(3000):  # until the command is at the service (bounded)
            if "Storage.GetStorage" in names(sim):
                break
            stuck.wait(0.01)
        xfs.cancel()

    helper = threading.Thread(target=cancel_when_sent)
    helper.start()
    with pytest.raises(XfsCancelled) as err:
        xfs.read_units()
    helper.join()
    assert "cancelled" in err.value.english and "已按管机员要求取消" in err.value.chinese
    pump_until(xfs, lambda: names(sim)[-1] == "Common.Cancel")


def test_no_cash_service(simulator, client):
    sim = simulator(services=(CARD_SERVICE,))
    with pytest.raises(XfsServiceNotFound) as err:
        client(sim.publisher_url).read_units()
    assert "CardReader1" in err.value.english and "出钞模块服务" in err.value.chinese


def test_nobody_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from custodian_app.xfs4iot.client import XfsStorageClient

    with (
        XfsStorageClient(f"ws://127.0.0.1:{port}/xfs4iot/v1.0", timeout=2) as xfs,
        pytest.raises(XfsUnreachable) as err,
    ):
        xfs.read_units()
    assert f"127.0.0.1:{port}" in err.value.english and "无法连接" in err.value.chinese


def test_a_wrong_path_is_unreachable(simulator, client):
    sim = simulator()
    with pytest.raises(XfsUnreachable) as err:
        client(sim.publisher_url.replace("/xfs4iot/v1.0", "/xfs4iot/v2.0")).read_units()
    assert "404" in err.value.english


def test_a_service_that_cannot_be_reached_is_passed_over(simulator, client):
    sim = simulator(services=("NoSuchService", CARD_SERVICE))
    with pytest.raises(XfsServiceNotFound) as err:
        client(sim.publisher_url).read_units()
    assert "NoSuchService (unreachable)" in err.value.english


def test_a_completion_that_is_not_json_is_refused(simulator, client):
    sim = simulator(faults={"Storage.GetStorage": "garbage"})
    xfs = client(sim.publisher_url)
    with pytest.raises(XfsReplyError) as err:
        xfs.read_units()
    assert "not JSON" in err.value.english and "已整体拒收" in err.value.chinese
    assert xfs.readings == []  # nothing of it was used
