"""AutoWebinar runtime (seed 004): schedules, live-effect math, the user_meta store, heartbeats."""
