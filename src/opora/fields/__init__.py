"""Typed custom fields for tickets, contacts and organizations."""
