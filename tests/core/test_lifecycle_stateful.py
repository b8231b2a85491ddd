"""Random sequences of Core actions by random actors; invariants checked after every step."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from portal.core import lifecycle
from portal.core.models import OutboxEvent, Status, Webinar
from portal.core.permissions import SYSTEM
from portal.errors import Conflict, Forbidden, Invalid
from portal.extensions import db
from portal.registration.models import Registration
from tests import factories

ACTORS = ["admin", "owner", "other_organizer", "speaker", "stranger_speaker", "anonymous", "system"]
RUNS_THE_SHOW = {"admin", "owner", "speaker", "system"}  # start/stop/CTA
MANAGES = {"admin", "owner", "system"}  # publish/unpublish/pause/archive
_n = itertools.count()


def make_machine():
    class CoreMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            from tests.conftest import _wipe

            _wipe()
            owner = factories.user(role="organizer")
            speaker = factories.user(role="speaker")
            self.actors = {
                "admin": factories.user(role="admin"),
                "owner": owner,
                "other_organizer": factories.user(role="organizer"),
                "speaker": speaker,
                "stranger_speaker": factories.user(role="speaker"),
                "anonymous": None,
                "system": SYSTEM,
            }
            self.webinar = factories.webinar(owner=owner, speakers=(speaker,))
            self.status = "draft"
            self.cta = "hidden"
            self.registered = False
            self.status_events = 0
            self.cta_events = 0
            self.completed_events = 0

        def _apply(self, op: str, actor_name: str) -> None:
            actor = self.actors[actor_name]
            allowed = RUNS_THE_SHOW if op in ("start", "stop") else MANAGES
            target = lifecycle.TARGET[op]
            legal = self.status in lifecycle.TRANSITIONS[op]
            blocked = op == "unpublish" and self.registered and self.status == "scheduled"
            try:
                if op in ("start", "stop"):
                    outcome = lifecycle.core_webinar_set_status(self.webinar, op, actor=actor)
                else:
                    outcome = getattr(lifecycle, op)(self.webinar, actor=actor)
            except Forbidden:
                assert actor_name not in allowed
                return
            except Conflict:
                assert actor_name in allowed and ((not legal and self.status != target) or blocked)
                return
            assert actor_name in allowed
            if self.status == target:
                assert not outcome.changed
                return
            assert legal and outcome.changed and outcome.after == target
            self.status = target
            self.status_events += 1
            self.completed_events += target == "finished"

        @rule(op=st.sampled_from(["publish", "unpublish", "start", "pause", "stop", "archive"]),
              actor=st.sampled_from(ACTORS))
        def operation(self, op, actor):
            self._apply(op, actor)

        @rule(visibility=st.sampled_from(["visible", "hidden", "bogus"]), actor_name=st.sampled_from(ACTORS))
        def cta(self, visibility, actor_name):
            actor = self.actors[actor_name]
            try:
                outcome = lifecycle.core_webinar_set_cta_visibility(self.webinar, visibility, actor=actor)
            except Invalid:
                assert visibility == "bogus"
                return
            except Forbidden:
                assert actor_name not in RUNS_THE_SHOW
                return
            except Conflict:
                assert self.status == "archived" and visibility != self.cta
                return
            assert actor_name in RUNS_THE_SHOW
            assert outcome.changed == (visibility != self.cta)
            if outcome.changed:
                self.cta = visibility
                self.cta_events += 1

        @rule(op=st.sampled_from(["start", "stop", "publish"]))
        def unknown_action_through_the_hook(self, op):
            with pytest.raises(Invalid):
                lifecycle.core_webinar_set_status(self.webinar, op.upper(), actor=SYSTEM)

        @rule()
        def someone_registers(self):
            if self.registered or self.status == "draft":
                return
            lead = factories.lead()
            db.session.add(Registration(webinar_id=self.webinar.webinar_id, lead_id=lead.user_id,
                                        webinar_type="live", join_token_hash=f"{next(_n):064d}"))
            db.session.commit()
            self.registered = True

        @invariant()
        def database_matches_model(self):
            if not hasattr(self, "webinar"):
                return
            db.session.expire_all()
            row = db.session.get(Webinar, self.webinar.webinar_id)
            assert row.status == self.status and row.status in {s.value for s in Status}
            assert row.cta_visibility == self.cta

        @invariant()
        def one_event_per_real_change(self):
            if not hasattr(self, "webinar"):
                return

            def count(name):
                return db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
                    OutboxEvent.webinar_id == self.webinar.webinar_id, OutboxEvent.event == name))

            assert count("webinar_status_changed") == self.status_events
            assert count("webinar_cta_visibility_changed") == self.cta_events
            assert count("webinar_completed") == self.completed_events

    return CoreMachine


def test_core_state_machine(app):
    machine = make_machine()
    machine.TestCase.settings = settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(machine, settings=machine.TestCase.settings)
