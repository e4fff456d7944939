"""Keyring, envelope encryption, format-preserving tokens, masking strategies and the policy engine."""
