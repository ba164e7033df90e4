"""The ``opora`` command line (Typer). Commands call services, like HTTP does."""
