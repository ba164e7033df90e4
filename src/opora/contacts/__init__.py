"""Contacts (customer people), their identities, and organizations."""
