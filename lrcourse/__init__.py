"""lrcourse."""
