"""The transport on its own: pyserial URLs, exclusive open, a port that goes away."""

from __future__ import annotations

import os
import tty

import pytest

from custodian_app.link.errors import LinkClosed, LinkError, PortError
from custodian_app.link.transport import SerialTransport


def read_at_least(t: SerialTransport, n: int) -> bytes:
    """What arrives until ``n`` bytes are in, or 50 reads of up to 50 ms found fewer."""
    got = b""
    for _ in range(50):
        got += t.read(0.05)
        if len(got) >= n:
            break
    return got


def test_loop_url_round_trip() -> None:
    with SerialTransport("loop://", 115200) as t:
        t.write(b"hello ATM")
        got = read_at_least(t, 9)
        assert got == b"hello ATM"
        assert t.bytes_in == t.bytes_out == 9


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    fds = {"master": master, "slave": slave}
    yield path, fds
    for fd in fds.values():
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def test_pty_read_write_and_timeout(pty_pair) -> None:
    path, fds = pty_pair
    with SerialTransport(path, 115200) as t:
        assert t.read(0.01) == b""
        os.write(fds["master"], b"\x7e\xa5abc")
        got = read_at_least(t, 5)
        assert got == b"\x7e\xa5abc"
        t.write(b"xyz")
        assert os.read(fds["master"], 10) == b"xyz"


def test_second_open_is_refused_while_the_first_holds_the_port(pty_pair) -> None:
    path, _ = pty_pair
    with SerialTransport(path, 115200), pytest.raises(PortError, match="in use"):
        SerialTransport(path, 115200).open()


def test_port_that_goes_away_is_link_closed(pty_pair) -> None:
    path, fds = pty_pair
    t = SerialTransport(path, 115200)
    t.open()
    try:
        os.close(fds["master"])
        os.close(fds["slave"])
        fds["master"] = fds["slave"] = None
        with pytest.raises(LinkClosed) as err:
            for _ in range(20):
                t.read(0.05)
        assert isinstance(err.value, LinkError) and isinstance(err.value, ConnectionError)
        assert isinstance(err.value.__cause__, Exception)  # translated, with the cause kept
    finally:
        t.close()


def test_missing_port() -> None:
    with pytest.raises(PortError, match="does not exist"):
        SerialTransport("/dev/ttyNOPE42", 115200).open()


def test_not_open_is_link_closed() -> None:
    with pytest.raises(LinkClosed):
        SerialTransport("loop://").read(0)


def test_list_ports_gives_device_and_description(monkeypatch) -> None:
    from serial.tools import list_ports_common

    from custodian_app.link import ports

    a = list_ports_common.ListPortInfo("/dev/ttyUSB0")
    a.description, a.manufacturer = "USB-Serial Controller", "Prolific"
    b = list_ports_common.ListPortInfo("/dev/ttyS0")
    b.description = "n/a"
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [a, b])
    assert ports.list_ports() == [("/dev/ttyS0", "n/a"), ("/dev/ttyUSB0", "USB-Serial Controller (Prolific)")]
