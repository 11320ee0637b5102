"""Durable state: one SQLite database (WAL) with versioned migrations."""
