"""Realtime fan-out: one Hub interface, an in-process and a Redis implementation."""
