"""Alembic migrations (``render_as_batch`` on SQLite) and the helpers that run them."""
