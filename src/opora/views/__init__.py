"""Views: saved ticket filters (conditions, columns, sort) with live counts, the inbox
sidebar's data. Built-in views are defined in code (``rules.BUILTIN_VIEWS``); personal
and shared views are rows of ``views``."""
