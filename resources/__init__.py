"""Data files shipped with custodian_app (installed as the package custodian_app.resources)."""
