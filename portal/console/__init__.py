"""Speaker console: /console/<webinar_id>."""
