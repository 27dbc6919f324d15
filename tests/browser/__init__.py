"""The browser tier."""
