"""Outgoing notifications. Email leaves through the jobs outbox: ``service.queue_email``
writes a ``notifications.send_email`` job in the caller's transaction, and the worker
composes and sends it (``mail.py``) with retries and back-off."""
