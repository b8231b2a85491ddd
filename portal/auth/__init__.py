"""Login and logout for speakers, organizers and admins."""
