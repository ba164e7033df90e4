"""Reports for supervisors: the workload page (open tickets per agent, line and group)."""
