"""The ATM maintenance-port link: transport, framing, messages, session, client, ATM simulator.

- ``client.AtmClient``: the blocking API the GUI and the command line use (ONE I/O thread);
  ``ledger_read`` is its resumable read of a cycle's ledger.
- ``ports.list_ports()``: the serial ports of this computer.
- ``simulator.AtmSimulator``: an ATM serving an atm-ledger/1 over a pty or a serial device.
- ``errors``: the link's exception tree (LinkError and below).
- ``transport`` / ``framer`` / ``endpoint`` / ``session`` / ``messages`` / ``records``: the
  layers underneath, each testable alone.

All serial I/O runs on one thread; the protocol is written down in docs/protocol.md."""
