"""Service levels: business calendars, SLA policies and the due times they give tickets."""
