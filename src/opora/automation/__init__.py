"""Automation: triggers on ticket events, time rules, macros, routing and escalation rules."""
