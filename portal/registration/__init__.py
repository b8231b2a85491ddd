"""Public registration pages, join tokens, calendar files."""
