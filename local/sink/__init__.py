"""The kit's CloudEvents sink ("message dumper" with a memory): receive, store, pair request/response.

``app`` (ASGI), ``parse`` (HTTP -> row), ``writer`` (group commit), ``store`` (SQLAlchemy table),
``query`` (pairs with latency), ``__main__`` (``python -m local.sink``). Nothing here imports ``ray``.
"""
