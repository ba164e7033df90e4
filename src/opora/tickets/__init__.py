"""Tickets, messages (public replies and internal notes), attachments, the timeline."""
