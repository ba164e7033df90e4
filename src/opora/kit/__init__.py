"""Small utilities with no domain knowledge: pagination, text, time."""
