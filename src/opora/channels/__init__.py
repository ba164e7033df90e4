"""Channels: adapters that bring customer messages in and take replies out.

Each channel is a package (``email/``, later ``chat/``, ``telegram/``, ``vk/``) that turns
what arrives into service calls and delivers what leaves; the rules stay in the services.
"""
