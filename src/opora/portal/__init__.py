"""The customer portal: sign-in by a one-time link (or a password), a customer's
requests, the request form and the embeddable web form."""
