"""Users (agents, supervisors, admins), groups on support lines, API tokens, actors."""
