"""The integration tier."""
