"""Core: users and roles, permissions, the lifecycle hooks, events."""
