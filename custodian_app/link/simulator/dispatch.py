"""The simulated ATM's command dispatch: commands taken off the session, acknowledged, queued
and run one after another (Common.Cancel at once), their answers fed to the endpoint as the
line takes them, unsolicited events, and the source's state changes told to the application.
A mixin of ``AtmSimulator`` (atm.py), split from it to keep each module readable."""

from __future__ import annotations

from queue import Empty

from custodian_app.link import messages
from custodian_app.link.errors import LinkError, MessageError
from custodian_app.link.messages import Message
from custodian_app.link.simulator.commands import AtmCommands


class CommandDispatch(AtmCommands):
    def _watch_source(self, now: float) -> None:
        """Let the source run its background checks; tell the application when a source is
        lost or back (Common.StatusChangedEvent with the new ``sources``)."""
        self.source.tick(now)
        states = dict(self.source.states())
        if states != self._source_states:
            self._source_states = states
            if self.endpoint is not None:
                self.send_event(
                    messages.STATUS_CHANGED, {"sources": {name: st.to_wire() for name, st in states.items()}}
                )

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
            if out is None:
                return  # waiting for a source; the loop comes back when it is woken
            ep.send_message(out.encode())
            if out.type == messages.COMPLETION:
                gen.close()
                self._current = None
