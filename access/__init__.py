"""Access control without the web: the operational store, users and roles, the audit log.

Only `dashboard/` wires these into Flask; the command line uses them directly.
"""
