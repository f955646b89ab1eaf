"""electrical."""
