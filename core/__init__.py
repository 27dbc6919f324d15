"""What every layer shares: the settings."""
