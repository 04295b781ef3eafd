"""Database access: URLs, engines, the unit of work, migrations."""
