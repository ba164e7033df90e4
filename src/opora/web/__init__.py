"""HTTP plumbing shared by the JSON API and the pages: unit of work, the current actor."""
