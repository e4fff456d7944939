"""Authentication (API keys, OIDC JWTs) and authorization (the role matrix in policies/roles.yaml)."""
