"""Helpers shared by the tests of every floor (importable because tests/ is on sys.path)."""
