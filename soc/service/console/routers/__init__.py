"""One router per console area; each page and action names its permission (policies/roles.yaml)."""
