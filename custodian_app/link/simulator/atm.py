"""The simulated ATM's line and session: the serving thread, pacing to the line speed, faults,
frames, the session handshake, and feeding the running command's answers to the endpoint.

Serving waits on file descriptors with select() (a pty or a serial device and a wake-up pipe),
which is POSIX-only; with ``polled=True`` it looks at a pyserial port every couple of
milliseconds instead, which is how it serves a Windows COM port. The module imports anywhere.
What it serves comes from a source (custodian_app.agent.source): a ledger in memory for the
simulator, the ATM PC's XFS4IoT service, journal and FSN files for ``atm-agent``.

A little over 500 lines, kept whole: the serving loop, its pacing and its faults act on the same
byte stream at the same instants; split, each part would reach into the other's state."""

from __future__ import annotations

import logging
import os
import random
import select
import threading
import time
from collections import deque
from collections.abc import Iterator
from queue import SimpleQueue

import orjson

from custodian_app.agent.source import AtmSource
from custodian_app.agent.static import StaticSource
from custodian_app.domain.formats import AtmLedger
from custodian_app.link import framer, messages
from custodian_app.link.endpoint import Endpoint
from custodian_app.link.errors import LinkError, ProtocolError
from custodian_app.link.framer import (
    ACCEPT,
    ACK,
    CONNECT,
    DATA,
    DISCONNECT,
    NAK,
    NOSESSION,
    PING,
    PONG,
    REFUSE,
    Deframer,
)
from custodian_app.link.messages import Message
from custodian_app.link.session import PROTOCOL
from custodian_app.link.simulator.dispatch import CommandDispatch
from custodian_app.link.simulator.faults import Faults, SimStats
from custodian_app.link.simulator.ports import DevicePort, PolledPort, PtyPort

log = logging.getLogger(__name__)

LINE_SPEEDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
AGENT = "custodian-atm-sim 1.0"


class AtmSimulator(CommandDispatch):
    """The ATM side of the link, serving from ``source``: an AtmSource (``atm-agent``'s real
    sources), or an atm-ledger/1, which is served by a StaticSource (``simulate-atm``, tests).
    The server owns the source from then on and closes it when it stops."""

    def __init__(
        self,
        source: AtmSource | AtmLedger,
        baud: int = 115200,
        *,
        faults: Faults | None = None,
        pace: bool = True,
        versions: tuple[int, ...] = (1,),
        compression: tuple[str, ...] = ("zlib", "none"),
        max_frame: int = 4096,
        window: int = 8,
        page_size: int = 500,
        line_speeds: tuple[int, ...] = LINE_SPEEDS,
        agent: str | None = None,
        polled: bool = False,
    ) -> None:
        self.source: AtmSource = source if isinstance(source, AtmSource) else StaticSource(source)
        self.safe_door = "closed"
        self.base_baud = baud
        self.baud = baud
        self.faults = faults or Faults()
        self.pace = pace
        self.versions = tuple(versions)
        self.compression = tuple(compression)
        self.max_frame = max_frame
        self.window = window
        self.page_size = page_size
        self.line_speeds = tuple(line_speeds)
        self.agent = agent or self.source.agent
        self.polled = polled  # pyserial polling instead of select(): Windows COM ports
        self.stats = SimStats()
        self.error: BaseException | None = None
        self.connected = threading.Event()  # set whenever a session opens
        self.device: str | None = None
        self.link: str | None = None
        self._rng = random.Random(self.faults.seed)
        self._fired: set[str] = set()
        self._port: PtyPort | DevicePort | None = None
        self._device_path: str | None = None  # serve_device mode
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._events: SimpleQueue = SimpleQueue()
        self._woken = threading.Event()
        self._source_states = dict(self.source.states())
        self.source.attach(self._wake)
        self._reset_line()

    # the static source's cycle, for the tests that look at what the simulated ATM holds
    @property
    def ledger(self) -> AtmLedger:
        return self._static().ledger

    @property
    def cycles(self) -> list[AtmLedger]:
        return self._static().cycles

    @property
    def cycle_state(self) -> str:
        return self.source.info().state

    def _static(self) -> StaticSource:
        if not isinstance(self.source, StaticSource):
            raise AttributeError("this ATM serves from real sources, not from a ledger in memory")
        return self.source

    # ------------------------------------------------------------------ public
    def start_on_pty(self, link: str | None = None) -> str:
        """Create a pty pair, serve its master end in a background thread, and return the path
        the client should open: ``link`` (a symlink kept pointing at the current pty, also
        after a simulated cable pull) or the pty's device path."""
        self.link = link
        self._port = PtyPort()
        self.device = self._port.device
        self._place_link()
        self._start()
        return link or self.device

    def serve_device(self, path: str) -> None:
        """Serve an existing serial device in the background: a tty or one end of a socat pty
        pair (select), or with ``polled`` any pyserial port, e.g. a Windows COM port."""
        self._device_path = path
        self._port = self._open_device(path)
        self.device = path
        self._start()

    def stop(self) -> None:
        """Stop serving and close everything this simulator opened, the source included.
        Safe to call twice."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._close_port()
        self.source.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the simulator stops (for the command line). True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def send_event(self, name: str, payload: dict) -> None:
        """Queue an unsolicited event for the connected client (thread-safe)."""
        self._events.put((name, dict(payload)))
        self._wake()

    def open_safe_door(self) -> None:
        self.safe_door = "open"
        self.send_event(messages.STATUS_CHANGED, {"safeDoor": "open"})

    def close_safe_door(self) -> None:
        self.safe_door = "closed"
        self.send_event(messages.STATUS_CHANGED, {"safeDoor": "closed"})

    def __enter__(self) -> AtmSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ plumbing
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="atm-simulator", daemon=True)
        self._thread.start()

    def _open_device(self, path: str) -> DevicePort | PolledPort:
        return PolledPort(path, self.baud) if self.polled else DevicePort(path, self.baud)

    def _wake(self) -> None:
        self._woken.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def _place_link(self) -> None:
        if not self.link or not self.device:
            return
        tmp = f"{self.link}.{os.getpid()}.tmp"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(self.device, tmp)
        os.replace(tmp, self.link)  # atomic: the client never sees a half-made link

    def _remove_link(self) -> None:
        if self.link and os.path.islink(self.link):
            try:
                os.unlink(self.link)
            except FileNotFoundError:
                pass

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()
        self._remove_link()

    def _reset_line(self) -> None:
        """Forget the session and everything in flight (new session, reboot, cable pulled)."""
        self.endpoint: Endpoint | None = None
        self.deframer = Deframer()
        self._nonce: str | None = None
        self._accept_wire = b""
        self._jobs: deque[tuple[Message, Iterator[Message]]] = deque()
        self._current: tuple[Message, Iterator[Message]] | None = None
        self._raw_out = bytearray()  # control frames outside a session
        self._wire = bytearray()  # bytes pulled, not yet written
        self._inbound: deque[tuple[float, bytes]] = deque()
        self._in_free_at = 0.0
        self._out_free_at = 0.0
        self._pending_speed: int | None = None
        self._last_nosession = 0.0
        self._stalled_until = 0.0
        self._ignore_until = 0.0
        self.baud = self.base_baud

    @property
    def _rate(self) -> float:
        return self.baud / 10.0

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._port is None:
                    self._reopen()
                    continue
                self._step()
        except BaseException as exc:  # kept for the tests and the command line to report
            log.exception("the ATM simulator stopped on an error")
            self.error = exc
        finally:
            self._close_port()

    def _reopen(self) -> None:
        if self._stop.wait(self.faults.down_seconds):
            return
        if self._device_path is not None:
            try:
                self._port = self._open_device(self._device_path)
            except LinkError:
                return  # try again after another pause
        else:
            self._port = PtyPort()
            self.device = self._port.device
            self._place_link()

    def _step(self) -> None:
        port = self._port
        assert port is not None
        now = time.monotonic()
        if now < self._stalled_until:
            self._stop.wait(min(0.05, self._stalled_until - now))
            return
        timeout = 0.05
        want_write = bool(self._wire or self._raw_out or (self.endpoint and self.endpoint.has_output()))
        if want_write and self.pace:
            timeout = min(timeout, max(0.0, self._out_free_at - now))
        elif want_write:
            timeout = 0.0
        if self._inbound:
            timeout = min(timeout, max(0.0, self._inbound[0][0] - now))
        if self.endpoint is not None:
            nd = self.endpoint.next_deadline()
            if nd is not None:
                timeout = min(timeout, max(0.0, nd - now))
        readable = self._wait_port(port, timeout)
        now = time.monotonic()
        self._watch_source(now)
        if readable:
            try:
                data = port.read()
            except OSError:
                # the device went away under us (e.g. socat ended): close it, and reopen it
                # after a pause rather than spin on a dead descriptor
                self._close_port()
                self._reset_line()
                return
            if data:
                self._receive(data, now)
        self._deliver(now)
        if self._pending_speed and self.endpoint is not None and self.endpoint.idle:
            # the switch takes effect once our answer to SetLineSpeed has been acknowledged
            self.baud, self._pending_speed = self._pending_speed, None
        if self.endpoint is not None:
            self.endpoint.tick(now, rx_pending=self.deframer.pending, last_rx=self._in_free_at or now)
            self._handle_messages()
            self._produce()
        self._send(now)

    def _wait_port(self, port: PtyPort | DevicePort | PolledPort, timeout: float) -> bool:
        """Wait up to ``timeout`` for bytes to read, room to write, or a wake-up; True when
        there is something to read."""
        if isinstance(port, PolledPort):
            # a Windows COM port cannot be select()ed: look at it every couple of milliseconds
            if port.waiting():
                return True
            self._woken.wait(min(timeout, 0.002))
            self._woken.clear()
            return port.waiting()
        wlist = [port.fileno()] if self._wire else []
        ready_r, _, _ = select.select([port.fileno(), self._wake_r], wlist, [], timeout)
        if self._wake_r in ready_r:
            os.read(self._wake_r, 4096)
            self._woken.clear()
        return port.fileno() in ready_r

    def _receive(self, data: bytes, now: float) -> None:
        self.stats.bytes_in += len(data)
        data = self._damage(data)
        if now < self._ignore_until:
            return  # rebooting: nobody listens
        arrive = max(now, self._in_free_at) + len(data) / self._rate if self.pace else now
        self._in_free_at = arrive
        self._inbound.append((arrive, data))

    def _deliver(self, now: float) -> None:
        while self._inbound and self._inbound[0][0] <= now:
            _, data = self._inbound.popleft()
            damaged = self.deframer.damaged_frames + self.deframer.garbage_bytes
            for frame in self.deframer.feed(data):
                self._on_frame(frame, now)
            if (
                self.deframer.damaged_frames + self.deframer.garbage_bytes != damaged
                and self.endpoint is not None
            ):
                self.endpoint.damaged_frame_seen(now)

    def _damage(self, data: bytes) -> bytes:
        f = self.faults
        if not (f.corrupt or f.drop):
            return data
        out = bytearray()
        rng = self._rng
        for b in data:
            if f.drop and rng.random() < f.drop:
                self.stats.dropped += 1
                continue
            if f.corrupt and rng.random() < f.corrupt:
                b ^= rng.randrange(1, 256)
                self.stats.corrupted += 1
            out.append(b)
        return bytes(out)

    def _send(self, now: float) -> None:
        port = self._port
        if port is None:
            return
        if self.pace:
            if self._out_free_at < now - 0.005:
                self._out_free_at = now  # an idle line saves no credit beyond a few ms
            if self._out_free_at > now + 0.0005:
                return
            budget = max(16, int(self._rate * 0.005))
        else:
            budget = 65536
        if not self._wire:
            chunk = bytes(self._raw_out[:budget])
            del self._raw_out[: len(chunk)]
            if len(chunk) < budget and self.endpoint is not None:
                chunk += self.endpoint.pull(now, budget - len(chunk))
            if not chunk:
                return
            self._wire += self._damage(chunk)
        try:
            n = port.write(bytes(self._wire[:budget]))
        except OSError:
            n = 0
        if n <= 0:
            return
        del self._wire[:n]
        self.stats.bytes_out += n
        if self.pace:
            self._out_free_at += n / self._rate
        self._after_bytes_sent(now)

    def _after_bytes_sent(self, now: float) -> None:
        f = self.faults
        sent = self.stats.bytes_out
        if f.stall_after is not None and "stall" not in self._fired and sent >= f.stall_after:
            self._fired.add("stall")
            log.info("simulated ATM: stalling for %.1f s after %d bytes", f.stall_seconds, sent)
            self.stats.stalls += 1
            self._stalled_until = now + f.stall_seconds
        cut = not f.mid_frame or (self.endpoint is not None and self.endpoint.mid_frame)
        if (
            f.disconnect_after is not None
            and "disconnect" not in self._fired
            and sent >= f.disconnect_after
            and cut
        ):
            self._fired.add("disconnect")
            log.info("simulated ATM: cable pulled after %d bytes", sent)
            self.stats.disconnects += 1
            self._close_port()
            self._reset_line()
        if f.reboot_after is not None and "reboot" not in self._fired and sent >= f.reboot_after and cut:
            self._fired.add("reboot")
            log.info("simulated ATM: rebooting after %d bytes", sent)
            self.stats.reboots += 1
            self._reset_line()
            self._ignore_until = now + f.reboot_seconds

    # ------------------------------------------------------------------ frames
    def _raw(self, ftype: int, payload: bytes = b"") -> None:
        self._raw_out += framer.encode_parts(ftype, 0, 0, payload)

    def _on_frame(self, frame: framer.Frame, now: float) -> None:
        t = frame.type
        if t == CONNECT:
            self._on_connect(frame.payload)
        elif t == DISCONNECT:
            if self.endpoint is not None:
                self._reset_session()
        elif self.endpoint is not None:
            try:
                self.endpoint.handle_frame(frame, now)
            except ProtocolError as exc:
                # A session whose stream can no longer be read (say, another program's bytes
                # on a reused pty) is dropped, not the whole ATM: the application is told it
                # has no session and opens a new one, as after a reboot.
                log.warning("the ATM simulator dropped a broken session: %s", exc)
                self.stats.broken_sessions += 1
                self._reset_session()
                self._raw(NOSESSION)
        elif t in (DATA, ACK, NAK, PING, PONG) and now - self._last_nosession > 0.1:
            self._last_nosession = now
            self.stats.nosessions += 1
            self._raw(NOSESSION)

    def _reset_session(self) -> None:
        self.endpoint = None
        self._nonce = None
        self._jobs.clear()
        self._current = None
        self.baud = self.base_baud

    def _on_connect(self, payload: bytes) -> None:
        try:
            offer = orjson.loads(payload)
            if type(offer) is not dict:
                raise ValueError
        except (orjson.JSONDecodeError, ValueError):
            self._refuse({"reason": "malformed", "message": "the CONNECT offer is not a JSON object"})
            return
        if offer.get("protocol") != PROTOCOL:
            self._refuse({"reason": "protocol", "message": f"this ATM speaks {PROTOCOL}"})
            return
        theirs = [v for v in offer.get("versions", ()) if type(v) is int]
        common = set(theirs) & set(self.versions)
        if not common:
            self.stats.refusals += 1
            self._refuse(
                {
                    "reason": "version",
                    "versions": list(self.versions),
                    "message": f"this ATM agent speaks protocol version(s) {list(self.versions)}, "
                    f"the application offered {theirs}",
                }
            )
            return
        nonce = offer.get("nonce")
        if nonce is not None and nonce == self._nonce and self._accept_wire:
            self._raw_out += self._accept_wire  # our ACCEPT was lost: say it again
            return
        offered = [c for c in offer.get("compression", ()) if isinstance(c, str)]
        compression = next((c for c in offered if c in self.compression), "none")
        max_frame = offer.get("maxFrame") if type(offer.get("maxFrame")) is int else 1024
        window = offer.get("window") if type(offer.get("window")) is int else 1
        max_frame = max(128, min(max_frame, self.max_frame))
        window = max(1, min(window, self.window))
        self._reset_session()
        self.endpoint = Endpoint(
            max_payload=max_frame,
            window=window,
            line_rate=self._rate if self.pace else None,
            compression=compression,
        )
        self._nonce = nonce
        accept = {
            "version": max(common),
            "compression": compression,
            "maxFrame": max_frame,
            "window": window,
            "nonce": nonce,
            "agent": self.agent,
            "terminalId": self.source.info().terminal_id,
            "session": self.stats.sessions + 1,
        }
        self._accept_wire = framer.encode_parts(ACCEPT, 0, 0, orjson.dumps(accept))
        self._raw_out += self._accept_wire
        self.stats.sessions += 1
        self.connected.set()

    def _refuse(self, reason: dict) -> None:
        self._raw(REFUSE, orjson.dumps(reason))
