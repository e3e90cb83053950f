"""The domain (``models.domain``) and its persistence (tables, store, import, portfolio)."""
