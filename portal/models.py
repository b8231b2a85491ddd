"""Every domain's models, imported once so the metadata (and Alembic) sees all tables."""
from portal.attendance.models import Attendance, LiveSession
from portal.audit.models import AuditEntry
from portal.auth.models import LoginFailure
from portal.core.models import ApiToken, OutboxEvent, User, UserMeta, Webinar, WebinarSlot, WebinarSpeaker
from portal.mail.models import MailMessage
from portal.media.models import Recording
from portal.polls.models import Poll, PollOption, PollVote
from portal.qa.models import QaSettings, Question, QuestionVote
from portal.reactions.models import ReactionCount
from portal.registration.models import Registration, RegistrationQuestion
from portal.room.models import ChatMessage
from portal.webhooks.models import WebhookAttempt, WebhookCursor, WebhookDelivery, WebhookEndpoint, WebhookSecret

__all__ = [
    "ApiToken", "Attendance", "AuditEntry", "ChatMessage", "LiveSession", "LoginFailure", "MailMessage", "OutboxEvent",
    "Poll", "PollOption", "PollVote", "QaSettings", "Question", "QuestionVote", "ReactionCount", "Recording",
    "Registration", "RegistrationQuestion",
    "User", "UserMeta", "Webinar", "WebinarSlot", "WebinarSpeaker",
    "WebhookAttempt", "WebhookCursor", "WebhookDelivery", "WebhookEndpoint", "WebhookSecret",
]
