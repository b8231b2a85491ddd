"""The attendee room, attendance, chat, CTA clicks and the room socket."""
