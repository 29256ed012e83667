"""XFS4IoT (CEN/TS 17852): the ATM's cash units read from its own devices' service.

- ``client``: find the cash service, read its units as atm-ledger/1 units, follow its
  events, carry out the exchange (``XfsStorageClient`` blocking, ``AsyncStorageClient``).
- ``units``: the translation of storage units into atm-ledger/1 units (pure).
- ``messages``: the envelopes, 2021 and 2023 header styles.
- ``connection``: one WebSocket, commands matched to their answers by requestId.
- ``simulator``: the services on loopback, with faults, for tests and the demo.
- ``errors``: what can go wrong, in English and Chinese.

docs/xfs4iot.md says how each counter maps and which spec text it follows.
"""
