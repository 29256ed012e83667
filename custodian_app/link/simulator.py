"""An ATM that speaks the maintenance-port protocol, served from an atm-ledger/1.

    sim = AtmSimulator(ledger, baud=115200)
    device = sim.start_on_pty()           # background thread; give `device` to the client
    ...
    sim.stop()

It runs the ATM side of docs/protocol.md on one background thread: sessions, every command,
the replenishment exchange (which opens a new, empty cycle), unsolicited events. Because a
pseudo-terminal moves bytes at memory speed, it paces what it sends to the stated line speed
(8N1: baud/10 bytes per second) and delays what it receives the same way, so timings are those
of a real RS-232 line. Faults for tests: corrupt or drop bytes (both directions, seeded),
stall, pull the cable (close the pty; with a link path, a new pty appears behind the same
symlink), reboot (the session is forgotten, the cycle is kept).
"""

from __future__ import annotations

import logging
import os
import random
import select
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from queue import Empty, SimpleQueue
from typing import Iterator

import orjson

from custodian_app.domain.formats import AtmLedger, Totals, TypeTotals, Unit
from dataclasses import replace
from custodian_app.link import framer, messages, records
from custodian_app.link.endpoint import Endpoint
from custodian_app.link.errors import LinkError, MessageError, ProtocolError
from custodian_app.link.framer import (ACCEPT, ACK, CONNECT, DATA, DISCONNECT, NAK, NOSESSION, PING,
                                       PONG, REFUSE, Deframer)
from custodian_app.link.messages import Message
from custodian_app.link.session import PROTOCOL

log = logging.getLogger(__name__)

LINE_SPEEDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
AGENT = "custodian-atm-sim 1.0"
COMMANDS = (messages.STATUS, messages.CAPABILITIES, messages.CANCEL, messages.SET_LINE_SPEED,
            messages.GET_STORAGE, messages.START_EXCHANGE, messages.END_EXCHANGE, messages.GET_TOTALS,
            messages.READ_TRANSACTIONS, messages.READ_NOTES, messages.GET_NOTES_FOR_TSN,
            messages.CLOSE_CYCLE)
MAX_PAGE = 5000


@dataclass(slots=True)
class Faults:
    """What goes wrong on the simulated line. Byte counts are bytes the ATM has sent."""

    corrupt: float = 0.0  # probability that a byte (either direction) is flipped
    drop: float = 0.0  # probability that a byte (either direction) is lost
    stall_after: int | None = None  # go silent once, after this many bytes...
    stall_seconds: float = 2.0  # ...for this long
    disconnect_after: int | None = None  # pull the cable once, after this many bytes...
    down_seconds: float = 0.5  # ...and put it back after this long
    reboot_after: int | None = None  # reboot once (session lost, same cycle)
    reboot_seconds: float = 0.3
    seed: int = 0


class _PtyPort:
    """Our end (master) of a pseudo-terminal pair; we keep the other end open too, so the
    client may close and reopen it without the master seeing a hang-up."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing: a clean 8-bit line for the client
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self.slave)

    def fileno(self) -> int:
        return self.master

    def read(self) -> bytes:
        try:
            return os.read(self.master, 65536)
        except BlockingIOError:
            return b""

    def write(self, data: bytes) -> int:
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class _DevicePort:
    """An existing serial device (e.g. one end of a socat pair), through pyserial."""

    def __init__(self, path: str, baud: int) -> None:
        import serial

        self._serial_mod = serial
        try:
            self.port = serial.serial_for_url(path, baudrate=baud, timeout=0, write_timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"the simulator cannot open {path}: {exc}") from exc
        self.device = path

    def fileno(self) -> int:
        return self.port.fileno()

    def read(self) -> bytes:
        try:
            return bytes(self.port.read(self.port.in_waiting or 1))
        except self._serial_mod.SerialException as exc:
            raise OSError(str(exc)) from exc

    def write(self, data: bytes) -> int:
        try:
            return self.port.write(data) or 0
        except self._serial_mod.SerialTimeoutException:
            return 0
        except self._serial_mod.SerialException as exc:
            raise OSError(str(exc)) from exc

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass


@dataclass(slots=True)
class SimStats:
    bytes_out: int = 0
    bytes_in: int = 0
    sessions: int = 0
    refusals: int = 0
    commands: int = 0
    corrupted: int = 0
    dropped: int = 0
    stalls: int = 0
    disconnects: int = 0
    reboots: int = 0
    bad_messages: int = 0
    broken_sessions: int = 0  # sessions dropped because their stream could not be read
    cancelled: int = 0
    exchanges: int = 0
    names: list[str] = field(default_factory=list)
    cursors: list[tuple[str, int]] = field(default_factory=list)  # (read command, cursor asked)


class AtmSimulator:
    def __init__(self, ledger: AtmLedger, baud: int = 115200, *, faults: Faults | None = None,
                 pace: bool = True, versions: tuple[int, ...] = (1,),
                 compression: tuple[str, ...] = ("zlib", "none"), max_frame: int = 4096,
                 window: int = 8, page_size: int = 500, line_speeds: tuple[int, ...] = LINE_SPEEDS,
                 agent: str = AGENT) -> None:
        self.ledger = ledger
        self.cycles: list[AtmLedger] = []  # cycles ended by an exchange, oldest first
        self.cycle_state = "open" if ledger.closed_at is None else "closed"
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
        self.agent = agent
        self.stats = SimStats()
        self.error: BaseException | None = None
        self.connected = threading.Event()  # set whenever a session opens
        self.device: str | None = None
        self.link: str | None = None
        self._rng = random.Random(self.faults.seed)
        self._fired: set[str] = set()
        self._port: _PtyPort | _DevicePort | None = None
        self._device_path: str | None = None  # serve_device mode
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._events: SimpleQueue = SimpleQueue()
        self._reset_line()

    # ------------------------------------------------------------------ public
    def start_on_pty(self, link: str | None = None) -> str:
        """Create a pty pair, serve its master end in a background thread, and return the path
        the client should open: ``link`` (a symlink kept pointing at the current pty, also
        after a simulated cable pull) or the pty's device path."""
        self.link = link
        self._port = _PtyPort()
        self.device = self._port.device
        self._place_link()
        self._start()
        return link or self.device

    def serve_device(self, path: str) -> None:
        """Serve an existing serial device (e.g. one end of a socat pty pair) in the background."""
        self._device_path = path
        self._port = _DevicePort(path, self.baud)
        self.device = path
        self._start()

    def stop(self) -> None:
        """Stop serving and close everything this simulator opened. Safe to call twice."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._close_port()
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

    def __enter__(self) -> "AtmSimulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ plumbing
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="atm-simulator", daemon=True)
        self._thread.start()

    def _wake(self) -> None:
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
                self._port = _DevicePort(self._device_path, self.baud)
            except LinkError:
                return  # try again after another pause
        else:
            self._port = _PtyPort()
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
        wlist = [port.fileno()] if self._wire else []
        ready_r, _, _ = select.select([port.fileno(), self._wake_r], wlist, [], timeout)
        if self._wake_r in ready_r:
            os.read(self._wake_r, 4096)
        now = time.monotonic()
        if port.fileno() in ready_r:
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
            self.endpoint.tick(now, rx_pending=self.deframer.pending,
                               last_rx=self._in_free_at or now)
            self._handle_messages()
            self._produce()
        self._send(now)

    def _receive(self, data: bytes, now: float) -> None:
        self.stats.bytes_in += len(data)
        data = self._damage(data)
        if now < self._ignore_until:
            return  # rebooting: nobody listens
        if self.pace:
            arrive = max(now, self._in_free_at) + len(data) / self._rate
        else:
            arrive = now
        self._in_free_at = arrive
        self._inbound.append((arrive, data))

    def _deliver(self, now: float) -> None:
        while self._inbound and self._inbound[0][0] <= now:
            _, data = self._inbound.popleft()
            damaged = self.deframer.damaged_frames + self.deframer.garbage_bytes
            for frame in self.deframer.feed(data):
                self._on_frame(frame, now)
            if self.deframer.damaged_frames + self.deframer.garbage_bytes != damaged and self.endpoint is not None:
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
        if f.disconnect_after is not None and "disconnect" not in self._fired and sent >= f.disconnect_after:
            self._fired.add("disconnect")
            log.info("simulated ATM: cable pulled after %d bytes", sent)
            self.stats.disconnects += 1
            self._close_port()
            self._reset_line()
        if f.reboot_after is not None and "reboot" not in self._fired and sent >= f.reboot_after:
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
        elif t in (DATA, ACK, NAK, PING, PONG):
            if now - self._last_nosession > 0.1:
                self._last_nosession = now
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
            self._refuse({"reason": "version", "versions": list(self.versions),
                          "message": f"this ATM agent speaks protocol version(s) {list(self.versions)}, "
                                     f"the application offered {theirs}"})
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
        self.endpoint = Endpoint(max_payload=max_frame, window=window,
                                 line_rate=self._rate if self.pace else None, compression=compression)
        self._nonce = nonce
        accept = {"version": max(common), "compression": compression, "maxFrame": max_frame,
                  "window": window, "nonce": nonce, "agent": self.agent,
                  "terminalId": self.ledger.terminal_id, "session": self.stats.sessions + 1}
        self._accept_wire = framer.encode_parts(ACCEPT, 0, 0, orjson.dumps(accept))
        self._raw_out += self._accept_wire
        self.stats.sessions += 1
        self.connected.set()

    def _refuse(self, reason: dict) -> None:
        self._raw(REFUSE, orjson.dumps(reason))

    # ------------------------------------------------------------------ messages
    def _handle_messages(self) -> None:
        ep = self.endpoint
        assert ep is not None
        for raw in ep.take_received():
            try:
                msg = messages.decode(raw)
            except MessageError:
                self.stats.bad_messages += 1
                continue
            if msg.type != messages.COMMAND:
                continue
            self.stats.commands += 1
            self.stats.names.append(msg.name)
            ep.send_message(messages.acknowledge(msg).encode())
            if msg.name == messages.CANCEL:
                self._cancel(msg)
            else:
                self._jobs.append((msg, self._handler(msg)))
        try:
            while True:
                name, payload = self._events.get_nowait()
                ep.send_message(messages.event(name, 0, payload).encode())
        except Empty:
            pass

    def _cancel(self, msg: Message) -> None:
        ep = self.endpoint
        assert ep is not None
        ids = msg.payload.get("requestIds")
        ids = set(ids) if isinstance(ids, list) else set()
        if self._current is not None and self._current[0].request_id in ids:
            cmd, gen = self._current
            gen.close()
            self._current = None
            ep.send_message(messages.completion(cmd, messages.CANCELED).encode())
            self.stats.cancelled += 1
        for job in list(self._jobs):
            if job[0].request_id in ids:
                self._jobs.remove(job)
                ep.send_message(messages.completion(job[0], messages.CANCELED).encode())
                self.stats.cancelled += 1
        ep.send_message(messages.completion(msg).encode())

    def _produce(self) -> None:
        """Feed the endpoint the next messages of the running command, no further ahead than
        a couple of frames: pages are made as the line takes them, so Cancel acts at once."""
        ep = self.endpoint
        assert ep is not None
        while ep.backlog < 2 * ep.max_payload:
            if self._current is None:
                if not self._jobs:
                    return
                self._current = self._jobs.popleft()
            cmd, gen = self._current
            try:
                out = next(gen)
            except StopIteration:
                self._current = None
                continue
            except LinkError as exc:  # a handler's own refusal
                self._current = None
                out = messages.completion(cmd, messages.INTERNAL_ERROR, description=str(exc))
            ep.send_message(out.encode())
            if out.type == messages.COMPLETION:
                gen.close()
                self._current = None

    # ------------------------------------------------------------------ commands
    def _handler(self, cmd: Message) -> Iterator[Message]:
        handler = {
            messages.STATUS: self._status, messages.CAPABILITIES: self._capabilities,
            messages.GET_STORAGE: self._storage, messages.GET_TOTALS: self._totals,
            messages.READ_TRANSACTIONS: self._read_transactions, messages.READ_NOTES: self._read_notes,
            messages.GET_NOTES_FOR_TSN: self._notes_for_tsn, messages.CLOSE_CYCLE: self._close_cycle,
            messages.START_EXCHANGE: self._start_exchange, messages.END_EXCHANGE: self._end_exchange,
            messages.SET_LINE_SPEED: self._set_line_speed,
        }.get(cmd.name)
        if handler is None:
            return self._unsupported(cmd)
        return handler(cmd)

    def _unsupported(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, messages.UNSUPPORTED_COMMAND,
                                  description=f"{cmd.name} is not a command of this ATM")

    @staticmethod
    def _error(cmd: Message, error_code: str, description: str) -> Message:
        return messages.completion(cmd, messages.COMMAND_ERROR, {"errorCode": error_code}, description)

    def _status(self, cmd: Message) -> Iterator[Message]:
        lg = self.ledger
        yield messages.completion(cmd, payload={
            "terminalId": lg.terminal_id, "cycleId": lg.cycle_id, "currency": lg.currency,
            "cycleState": self.cycle_state, "openedAt": lg.opened_at, "closedAt": lg.closed_at,
            "lineSpeed": self.baud, "transactionCount": len(lg.transactions),
            "noteCount": len(lg.notes or ()), "safeDoor": self.safe_door, "agent": self.agent,
        })

    def _capabilities(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload={
            "protocolVersions": list(self.versions), "compression": list(self.compression),
            "maxFrame": self.max_frame, "window": self.window, "lineSpeeds": list(self.line_speeds),
            "commands": list(COMMANDS), "maxPageSize": MAX_PAGE,
        })

    def _storage(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload={"storage": records.encode_units(self.ledger.units)})

    def _totals(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload=records.encode_totals(self.ledger))

    def _wrong_cycle(self, cmd: Message) -> Message | None:
        cycle = cmd.payload.get("cycleId")
        if cycle is not None and cycle != self.ledger.cycle_id:
            return self._error(cmd, "cycleChanged", f"the current cycle is {self.ledger.cycle_id}, not {cycle}")
        return None

    def _stream(self, cmd: Message, items: list, encode, event_name: str) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
        cursor = cmd.payload.get("cursor", 0)
        size = cmd.payload.get("pageSize", self.page_size)
        if type(cursor) is not int or not 0 <= cursor <= len(items):
            yield self._error(cmd, "cursorInvalid", f"cursor must be 0..{len(items)}, not {cursor!r}")
            return
        if type(size) is not int or size < 1:
            yield messages.completion(cmd, messages.INVALID_DATA, description="pageSize must be >= 1")
            return
        size = min(size, MAX_PAGE)
        total = len(items)
        self.stats.cursors.append((cmd.name, cursor))
        while cursor < total:
            end = min(total, cursor + size)
            page = encode(items[cursor:end])
            page.update(cursor=cursor, nextCursor=end, total=total)
            yield messages.event(event_name, cmd.request_id, page)
            cursor = end
        yield messages.completion(cmd, payload={"total": total, "cursor": total})

    def _read_transactions(self, cmd: Message) -> Iterator[Message]:
        return self._stream(cmd, self.ledger.transactions, records.encode_transactions,
                            messages.TRANSACTIONS_PAGE)

    def _read_notes(self, cmd: Message) -> Iterator[Message]:
        return self._stream(cmd, self.ledger.notes or [], records.encode_notes, messages.NOTES_PAGE)

    def _notes_for_tsn(self, cmd: Message) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
        tsn = cmd.payload.get("tsn")
        if type(tsn) is not str:
            yield messages.completion(cmd, messages.INVALID_DATA, description="tsn must be a string")
            return
        found = [n for n in self.ledger.notes or () if n.tsn == tsn]
        page = records.encode_notes(found)
        page["tsn"] = tsn
        yield messages.completion(cmd, payload=page)

    def _now(self) -> str:
        tz = datetime.fromisoformat(self.ledger.opened_at.replace("Z", "+00:00")).tzinfo
        return datetime.now(tz).replace(microsecond=0).isoformat()

    def _close(self) -> None:
        if self.cycle_state == "open":
            if self.ledger.closed_at is None:
                self.ledger = replace(self.ledger, closed_at=self._now())
            self.cycle_state = "closed"

    def _close_cycle(self, cmd: Message) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
        self._close()
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id, "closedAt": self.ledger.closed_at})

    def _start_exchange(self, cmd: Message) -> Iterator[Message]:
        if self.cycle_state == "exchange":
            yield messages.completion(cmd, messages.SEQUENCE_ERROR, description="an exchange is already active")
            return
        self._close()
        self.cycle_state = "exchange"
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id})

    def _end_exchange(self, cmd: Message) -> Iterator[Message]:
        if self.cycle_state != "exchange":
            yield messages.completion(cmd, messages.SEQUENCE_ERROR,
                                      description="Storage.StartExchange must come first")
            return
        units = cmd.payload.get("units")
        ids = [u.id for u in self.ledger.units]
        if type(units) is not dict:
            yield messages.completion(cmd, messages.INVALID_DATA, description="units must map unit id to {initial}")
            return
        missing = [i for i in ids if i not in units]
        unknown = [i for i in units if i not in ids]
        if missing or unknown:
            yield messages.completion(cmd, messages.INVALID_DATA, description=(
                f"EndExchange needs every unit: missing {missing}, unknown {unknown}"))
            return
        initial: dict[str, int] = {}
        for uid in ids:
            entry = units[uid]
            n = entry.get("initial") if type(entry) is dict else None
            if type(n) is not int or n < 0:
                yield messages.completion(cmd, messages.INVALID_DATA,
                                          description=f"unit {uid}: initial must be a whole number >= 0")
                return
            initial[uid] = n
        old = self.ledger
        self.cycles.append(old)
        self.ledger = self._next_cycle(old, initial)
        self.cycle_state = "open"
        self.stats.exchanges += 1
        self._events.put((messages.CYCLE_OPENED, {"cycleId": self.ledger.cycle_id}))
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id, "openedAt": self.ledger.opened_at})

    def _next_cycle(self, old: AtmLedger, initial: dict[str, int]) -> AtmLedger:
        opened = self._now()
        known = {c.cycle_id for c in self.cycles} | {old.cycle_id}
        stem = f"{old.terminal_id[:20]}-{opened[:10].replace('-', '')}"
        cycle_id, n = stem, 1
        while cycle_id in known:
            n += 1
            cycle_id = f"{stem}-{n}"
        units = [Unit(u.id, u.type, u.currency, u.value, initial[u.id], {k: 0 for k in u.out},
                      {k: 0 for k in u.in_}) for u in old.units]
        loaded = sum(u.initial * u.value for u in units
                     if u.value is not None and u.type in ("cashOut", "recycling"))
        return AtmLedger(old.terminal_id, cycle_id, old.currency, opened, None,
                         Totals(loaded, TypeTotals(0, 0), TypeTotals(0, 0)), units, [],
                         [] if old.notes is not None else None, source=old.source)

    def _set_line_speed(self, cmd: Message) -> Iterator[Message]:
        speed = cmd.payload.get("lineSpeed")
        if speed not in self.line_speeds:
            yield messages.completion(cmd, messages.INVALID_DATA,
                                      description=f"line speed must be one of {list(self.line_speeds)}")
            return
        self._pending_speed = int(speed)  # switched once this completion is acknowledged
        yield messages.completion(cmd, payload={"lineSpeed": speed})

