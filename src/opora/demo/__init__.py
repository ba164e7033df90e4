"""The demo company: ``opora demo`` loads lines L1-L3, agents, customers and tickets.

``plan`` decides everything (pure, seeded); ``loader`` carries it out through the
services and then moves the timestamps into the past.
"""

from __future__ import annotations

from opora.demo.loader import load_demo

__all__ = ["load_demo"]
