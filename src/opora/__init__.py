"""Opora: an open-source help desk and technical-support platform."""

__version__ = "0.1.0"
