"""The journal store (SQLite)."""
