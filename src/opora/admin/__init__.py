"""Admin pages: users, groups (and later fields and tags)."""
