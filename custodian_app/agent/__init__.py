"""The ATM-side agent: serves the maintenance-port protocol from a source (docs/agent.md).

- ``source``: what the serving code asks for (the cycle, the units, closing, the exchange),
  the source status words, ``SourceUnavailable``;
- ``static``: a ledger held in memory (``simulate-atm``, tests);
- ``real``: the ATM PC's own records: XFS4IoT counters, journal, FSN (``atm-agent``);
- ``cycles``: bookkeeping every source shares.

The line and the commands are ``custodian_app.link.simulator`` (``AtmSimulator``), which takes
a source: ``simulate-atm`` and ``atm-agent`` are one code path.
"""
