"""Organizer pages under /admin/."""
