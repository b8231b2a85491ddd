"""Public pages that belong to no other domain: the index, health check, language switch."""
