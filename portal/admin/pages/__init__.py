"""Organizer page handlers, grouped by page; routed in portal/admin/views.py."""
