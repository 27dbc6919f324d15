"""The dashboard's pages, one module each; `dashboard.registry` finds them here."""
