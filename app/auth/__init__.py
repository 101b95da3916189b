"""Authentication and authorisation: passwords, tokens, API keys, principals, roles."""
