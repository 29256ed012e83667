"""The domain core: money, the clearing formats, reconciliation, the clearing flow.

Nothing in this package imports Qt or does I/O (files, serial, network, database); a test
enforces it. Callers hand it bytes or dicts and get plain objects back.
"""
