"""The ATM maintenance-port link: transport, framing, messages, session, client, ATM simulator.

All serial I/O runs on one thread; see docs/protocol.md."""
