"""The bank backend connector: HTTP client, backend simulator, settlement-file import."""
