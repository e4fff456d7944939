"""Event and alert stores: protocols in base.py, the embedded SQLite store in sqlite.py."""
