"""Replay as it happened (issue 13): a finished live webinar's recording with its chat, CTA
(and, once those rooms exist, questions and poll results) appearing at the second they did.

- `timeline`: the registry of timed sources (chat, CTA, questions and poll results filled here).
- `service`: who may watch (registrants; anyone when the organizer allows it), the replay
  visit in attendance, the CTA click.
- `views`: /replay/<token>, /w/<slug>/replay and their timeline fragments.
- `links.replay_url(webinar, token)`: the URL the ended screen and the thank-you mail link.
Rank 4.5 (tests/test_layers.py): may import room, autowebinar, qa, polls, media and below.
"""
from __future__ import annotations

from flask import Flask

from portal.mail import reminders
from portal.replay import interaction, links, sources, timeline


def init_app(app: Flask) -> None:
    """Pages, the timeline registry with the chat and CTA sources, the link template helper."""
    from portal.replay import views

    app.register_blueprint(views.bp)
    timeline.init_app(app)
    timeline.register(app, "chat", sources.chat)
    timeline.register(app, "cta", sources.cta)
    timeline.register(app, "questions", interaction.questions)
    timeline.register(app, "polls", interaction.polls)
    app.add_template_global(links.replay_url, "replay_url")
    app.add_template_global(links.public_replay_url, "public_replay_url")
    reminders.register_replay(app, links.mail_replay_link)  # the thank-you mail's replay link
