"""The session: one open conversation with the ATM over a transport, on ONE thread.

It opens the session (CONNECT -> ACCEPT or REFUSE, with version, compression, frame size and
window negotiation), then carries messages: ``submit`` sends a command and returns a
``Pending`` that collects its acknowledge, its events and its completion; ``pump`` runs the
line (reads, acknowledgements, resends, keep-alive probes) until a condition holds or a
deadline passes. Several commands may be outstanding at once: the ATM answers them in order,
and the line never idles between them.

Failures surface as LinkError subclasses: LinkClosed (the port went away), LinkTimeout (the ATM
went quiet), LinkReset (the ATM forgot us: it rebooted). Reconnecting and resuming from a
cursor is the client's business (link.client); a session is used once.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from custodian_app.link import framer, messages
from custodian_app.link.endpoint import OFFSET, Endpoint
from custodian_app.link.errors import LinkClosed, LinkReset, LinkTimeout, ProtocolError, ProtocolVersionError
from custodian_app.link.framer import ACCEPT, CONNECT, DISCONNECT, NOSESSION, REFUSE, Deframer
from custodian_app.link.messages import Message
from custodian_app.link.transport import SerialTransport

PROTOCOL = "custodian-atm-link"
DATA_OFFSET_SIZE = OFFSET.size  # a DATA frame's payload: its stream offset, then the piece
PROTOCOL_VERSIONS = (1,)
COMPRESSIONS = ("zlib", "none")


@dataclass(slots=True)
class Pending:
    """One command on its way: filled in by the session as answers arrive."""

    request_id: int
    name: str
    on_event: Callable[[Message], None] | None = None
    on_completion: Callable[[Pending], None] | None = None
    acknowledged: bool = False
    completion: Message | None = None
    events: int = 0

    @property
    def done(self) -> bool:
        return self.completion is not None


@dataclass(slots=True)
class SessionOptions:
    versions: tuple[int, ...] = PROTOCOL_VERSIONS
    compression: tuple[str, ...] = COMPRESSIONS
    max_frame: int = 4096
    window: int = 8
    connect_timeout: float = 10.0  # how long to try opening the session
    response_timeout: float = 5.0  # silence from the ATM longer than this: the link is down
    probe_interval: float = 1.0  # silence longer than this: send a PING
    rto_base: float = 0.3
    extra: dict = field(default_factory=dict)


class Session:
    def __init__(
        self,
        transport: SerialTransport,
        options: SessionOptions | None = None,
        *,
        on_unsolicited: Callable[[Message], None] | None = None,
    ) -> None:
        self.transport = transport
        self.options = options or SessionOptions()
        self.on_unsolicited = on_unsolicited
        self.deframer = Deframer()
        self.endpoint: Endpoint | None = None
        self.accept: dict = {}
        self.pending: dict[int, Pending] = {}
        self.unsolicited: deque[Message] = deque(maxlen=1000)
        self._next_rid = 1
        self._last_rx = time.monotonic()
        self._last_ping = 0.0
        self.closed = False

    @property
    def line_rate(self) -> float:
        return self.transport.baud / 10.0  # 8N1: ten bit times per byte

    # ------------------------------------------------------------------ opening
    def open(self) -> dict:
        """CONNECT until the ATM accepts or refuses. Returns the ACCEPT payload."""
        opt = self.options
        nonce = os.urandom(8).hex()
        offer = orjson.dumps(
            {
                "protocol": PROTOCOL,
                "versions": list(opt.versions),
                "compression": list(opt.compression),
                "maxFrame": opt.max_frame,
                "window": opt.window,
                "lineSpeed": self.transport.baud,
                "nonce": nonce,
                "agent": "custodian-app",
            }
        )
        wire = framer.encode_parts(CONNECT, 0, 0, offer)
        deadline = time.monotonic() + opt.connect_timeout
        retry = max(0.3, 4 * (len(wire) + 600) / self.line_rate)
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise LinkTimeout(
                    f"the ATM on {self.transport.url} did not answer; check that the cable is "
                    "plugged into the maintenance port, the port name and the line speed "
                    f"({self.transport.baud} baud)"
                )
            self.transport.write(wire)
            until = min(deadline, now + retry)
            while time.monotonic() < until:
                data = self.transport.read(min(0.05, max(0.0, until - time.monotonic())))
                if not data:
                    continue
                for frame in self.deframer.feed(data):
                    if frame.type == ACCEPT:
                        accept = self._parse_json(frame.payload, "ACCEPT")
                        if accept.get("nonce") not in (None, nonce):
                            continue  # an answer to an earlier attempt of someone else
                        return self._accepted(accept)
                    if frame.type == REFUSE:
                        self._refused(self._parse_json(frame.payload, "REFUSE"))
                    # anything else is left over from an earlier session: ignore

    @staticmethod
    def _parse_json(payload: bytes, what: str) -> dict:
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(f"the ATM's {what} is not valid JSON") from exc
        if type(doc) is not dict:
            raise ProtocolError(f"the ATM's {what} is not a JSON object")
        return doc

    def _accepted(self, accept: dict) -> dict:
        opt = self.options
        version = accept.get("version")
        if version not in opt.versions:
            # The ATM picked something we never offered: refuse rather than misread it.
            self.transport.write(framer.encode_parts(DISCONNECT, 0, 0))
            raise ProtocolVersionError(
                f"the ATM chose protocol version {version!r}, which this application does not "
                f"speak (it speaks {list(opt.versions)}); update the application",
                ours=opt.versions,
                theirs=(version,) if type(version) is int else (),
            )
        compression = accept.get("compression", "none")
        if compression not in opt.compression:
            raise ProtocolError(f"the ATM chose compression {compression!r}, which was not offered")
        max_frame = accept.get("maxFrame", 1024)
        window = accept.get("window", 1)
        if type(max_frame) is not int or type(window) is not int or max_frame < 128 or window < 1:
            raise ProtocolError("the ATM's ACCEPT has an invalid frame size or window")
        self.endpoint = Endpoint(
            max_payload=min(max_frame, opt.max_frame),
            window=min(window, opt.window),
            line_rate=self.line_rate,
            compression=compression,
            rto_base=opt.rto_base,
        )
        # frames longer than negotiated are damaged headers: dropped at once, not waited for
        self.deframer.max_payload = self.endpoint.max_payload + DATA_OFFSET_SIZE
        self.accept = accept
        self._last_rx = time.monotonic()
        return accept

    def _refused(self, refuse: dict) -> None:
        theirs = tuple(v for v in refuse.get("versions", ()) if type(v) is int)
        ours = self.options.versions
        reason = refuse.get("reason", "")
        if reason == "version":
            if theirs and min(theirs) > max(ours):
                advice = "the ATM agent is newer than this application; update the application"
            elif theirs and max(theirs) < min(ours):
                advice = "the ATM agent is older than this application; ask for the ATM agent to be updated"
            else:
                advice = "the application and the ATM agent share no protocol version"
            raise ProtocolVersionError(
                f"the ATM refused the connection: it speaks protocol version(s) {list(theirs)}, this "
                f"application speaks {list(ours)}; {advice}",
                ours=ours,
                theirs=theirs,
            )
        raise ProtocolError(
            f"the ATM refused the connection: {refuse.get('message') or reason or 'no reason given'}"
        )

    # ------------------------------------------------------------------ commands
    def submit(
        self,
        name: str,
        payload: dict | None = None,
        on_event: Callable[[Message], None] | None = None,
        on_completion: Callable[[Pending], None] | None = None,
    ) -> Pending:
        """Send a command. ``on_event`` gets its events, ``on_completion`` the Pending once the
        completion is in (both on this thread, from inside ``pump``)."""
        ep = self._require()
        rid = self._next_rid
        self._next_rid += 1
        pending = Pending(rid, name, on_event, on_completion)
        self.pending[rid] = pending
        ep.send_message(messages.command(name, rid, payload).encode())
        return pending

    def _require(self) -> Endpoint:
        if self.endpoint is None or self.closed:
            raise LinkClosed("the session with the ATM is not open")
        return self.endpoint

    def pump(self, until: Callable[[], bool], timeout: float | None = None) -> None:
        """Run the line until ``until()`` is true. Raises LinkTimeout after ``timeout``
        seconds in all, or after ``response_timeout`` seconds of silence from the ATM."""
        ep = self._require()
        opt = self.options
        transport = self.transport
        deadline = None if timeout is None else time.monotonic() + timeout
        while not until():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise LinkTimeout("the ATM did not complete the command in time; retry, and check the line")
            out = ep.pull(now)
            if out:
                transport.write(out)
            wait = 0.05
            nd = ep.next_deadline()
            if nd is not None:
                wait = min(wait, max(0.0, nd - now))
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - now))
            if ep.has_output():
                wait = 0.0
            data = transport.read(wait)
            now = time.monotonic()
            if data:
                self._last_rx = now
                damaged = self.deframer.damaged_frames
                garbage = self.deframer.garbage_bytes
                for frame in self.deframer.feed(data):
                    self._on_frame(frame, now)
                if self.deframer.damaged_frames != damaged or self.deframer.garbage_bytes != garbage:
                    ep.damaged_frame_seen(now)
            ep.tick(now, rx_pending=self.deframer.pending, last_rx=self._last_rx)
            for raw in ep.take_received():
                self._dispatch(messages.decode(raw))
            silent = now - self._last_rx
            if silent > opt.response_timeout:
                raise LinkTimeout(f"the ATM has been silent for {silent:.1f} s; the line is down")
            if silent > opt.probe_interval and now - self._last_ping > opt.probe_interval:
                self._last_ping = now
                ep.ping()

    def _on_frame(self, frame: framer.Frame, now: float) -> None:
        t = frame.type
        if t == NOSESSION:
            raise LinkReset("the ATM no longer knows this session (it restarted)")
        if t == DISCONNECT:
            raise LinkClosed("the ATM ended the session")
        if t in (ACCEPT, REFUSE, CONNECT):
            return  # a late answer to an earlier CONNECT
        assert self.endpoint is not None
        self.endpoint.handle_frame(frame, now)

    def _dispatch(self, msg: Message) -> None:
        if msg.type == messages.EVENT and msg.request_id == 0:
            self.unsolicited.append(msg)
            if self.on_unsolicited is not None:
                self.on_unsolicited(msg)
            return
        pending = self.pending.get(msg.request_id)
        if pending is None:
            return  # an answer to a command of an earlier session, or one we gave up on
        if msg.type == messages.ACKNOWLEDGE:
            pending.acknowledged = True
            status = msg.payload.get("status")
            if status:
                pending.completion = messages.Message(
                    msg.name, msg.request_id, messages.COMPLETION, {}, status, msg.error_description
                )
                del self.pending[msg.request_id]
                if pending.on_completion is not None:
                    pending.on_completion(pending)
        elif msg.type == messages.EVENT:
            pending.events += 1
            if pending.on_event is not None:
                pending.on_event(msg)
        elif msg.type == messages.COMPLETION:
            pending.completion = msg
            del self.pending[msg.request_id]
            if pending.on_completion is not None:
                pending.on_completion(pending)

    def drain(self, timeout: float = 1.0) -> None:
        """Give what we sent a chance to be acknowledged (used before a speed switch or close)."""
        ep = self.endpoint
        if ep is None:
            return
        try:
            self.pump(lambda: ep.idle, timeout)
        except (LinkTimeout, LinkClosed, LinkReset):
            pass

    def close(self, polite: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        if polite and self.transport.is_open:
            try:
                self.transport.write(framer.encode_parts(DISCONNECT, 0, 0))
            except (LinkClosed, LinkTimeout):
                pass
