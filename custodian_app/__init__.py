"""custodian_app: ATM clearing and reconciliation for bank branch cash custodians."""

__version__ = "0.1.0"
