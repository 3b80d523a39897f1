"""Property-based stateful tests (hypothesis): random sequences of actions never reach a state the table forbids,
and the history always replays to the current state — on the pure workflow, and through the services on a database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlmodel import Session, select

from app.errors import AppError, Invalid, InvalidTransition
from app.workflow import EngagementFacts, GuardFailed, Position, apply_transition, replay
from app.workflow import EngagementState as S
from app.workflow.guards import unmet
from app.workflow.states import PATHS, Pathway
from tests.conftest import TODAY
from tests.workflow.conftest import milestones_for
from tests.workflow.test_states import HAND_PATHS, expected_allowed

KINDS = ["animal_protocol", "iacuc_approval", "animal_trial_report", "clinical_ethics_approval",
         "clinical_evaluation_report", "registration_certificate", "filing_record", "admission_approval", "meeting"]
REFS = st.sampled_from(["", "REF-1", "国械注准20253070123", "沪械备20240012号"])


class PureWorkflow(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.pathway = "device"
        self.pos = Position(S.proposed)
        self.steps: list[tuple[str | None, str]] = [(None, "proposed")]
        self.facts = EngagementFacts()

    @initialize(pathway=st.sampled_from(list(HAND_PATHS)))
    def choose(self, pathway):
        self.pathway = pathway
        self.pos = Position(S.proposed, None, pathway)

    @rule(hospital=st.booleans(), lead=st.booleans(), facility=st.booleans(), own=st.booleans())
    def change_facts(self, hospital, lead, facility, own):
        self.facts = EngagementFacts(hospital_accepted=hospital, lead_accepted=lead, milestones=self.facts.milestones,
                                     animal_facility_participant=facility, lead_states_animal_capability=own)

    @rule(kind=st.sampled_from(KINDS), ref=REFS)
    def record(self, kind, ref):
        ms = dict(self.facts.milestones)
        ms[kind] = ms.get(kind, ()) + (ref,)
        self.facts = EngagementFacts(**{**self.facts.__dict__, "milestones": ms})

    @rule(to=st.sampled_from(list(S)), comment=st.sampled_from(["", "a reason"]))
    def move(self, to, comment):
        target = to
        allowed = expected_allowed(self.pos.state, self.pos.held_from, self.pathway)
        try:
            new = apply_transition(self.pos, target, self.facts, comment)
        except GuardFailed:
            assert target in allowed and unmet(target, self.facts, self.pathway)
            return
        except InvalidTransition:
            assert target not in allowed
            return
        except Invalid:
            assert target in (S.withdrawn, S.terminated) and not comment
            return
        assert target in allowed and not unmet(target, self.facts, self.pathway)
        self.steps.append((self.pos.state.value, new.state.value))
        self.pos = new

    @invariant()
    def history_replays_and_every_step_is_allowed(self):
        assert replay(self.steps, self.pathway) == self.pos
        pos = Position(S.proposed, None, self.pathway)
        for frm, to in self.steps[1:]:
            assert S(to) in expected_allowed(pos.state, pos.held_from, self.pathway), (frm, to)
            pos = Position(S(to), pos.state if S(to) == S.on_hold else None, self.pathway)


TestPureWorkflow = PureWorkflow.TestCase
TestPureWorkflow.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


def _actor(world, persona):
    from app.models.enums import OrgKind, Role
    from app.policy import Actor

    kinds = {"hospital": "hospital", "hospital_b": "hospital", "company": "enterprise", "company_b": "enterprise",
             "lab": "lab", "commission": "commission", "admin": "commission"}
    p = world[persona]
    return Actor(user_id=p.user_id, organisation_id=p.org_id, org_kind=OrgKind(kinds[persona]), role=Role(p.role),
                 request_id="hypothesis")


@pytest.mark.parametrize("pathway", list(HAND_PATHS))
def test_services_on_a_database_keep_state_history_and_need_consistent(app, world, pathway, steps=40):
    """The same property through the services and a real database (both backends), on every pathway: whatever the
    actors try, the stored state is the replay of the stored history, each step is in the pathway's table, and the
    need follows."""
    from app.db import session_scope
    from app.models import Engagement, EngagementParticipant, EngagementTransition, Need
    from app.models.capability import CapabilityCreate
    from app.models.engagement import EngagementCreate, MilestoneCreate, ParticipantCreate, TransitionCreate
    from app.models.need import NeedCreate
    from app.services import capabilities, engagements, needs
    from app.workflow.states import counts_as_partnership
    from tests.conftest import RF_CAPABILITY, TSP_NEED

    engine = app.state.engine
    reached: set[str] = set()
    actors = {p: _actor(world, p) for p in ("hospital", "company", "lab", "commission", "company_b")}

    class ServiceWorkflow(RuleBasedStateMachine):
        @initialize(by=st.sampled_from(["hospital", "company"]), own_animal=st.booleans())
        def propose(self, by, own_animal):
            with session_scope(engine) as s:
                need = needs.create_need(s, actors["hospital"], NeedCreate(**{**TSP_NEED, "status": "open"}))
                stages = ["rnd", "animal_trial"] if own_animal else ["rnd"]
                cap = capabilities.create_capability(s, actors["company"],
                                                     CapabilityCreate(**{**RF_CAPABILITY, "stages": stages}))
                eng = engagements.create_engagement(s, actors[by], EngagementCreate(
                    need_id=need.id, capability_id=cap.id, pathway=pathway))
                self.eid, self.nid = eng.id, need.id

        def _try(self, fn):
            try:
                with session_scope(engine) as s:
                    fn(s)
            except AppError:
                pass  # refused (and rolled back): the invariants say nothing changed wrongly

        @rule(who=st.sampled_from(["hospital", "company", "lab", "commission", "company_b"]))
        def accept(self, who):
            self._try(lambda s: engagements.accept(s, actors[who], self.eid, s.get(Engagement, self.eid).version))

        @rule(kind=st.sampled_from(KINDS), ref=st.sampled_from(["REF-1", "国械注准20253070123"]),
              who=st.sampled_from(["hospital", "company", "lab"]))
        def milestone(self, kind, ref, who):
            def go(s):
                data = MilestoneCreate(kind=kind, title=kind, occurred_on=TODAY, reference=ref)
                engagements.add_milestone(s, actors[who], self.eid, data)
            try:
                self._try(go)
            except ValueError:
                pass  # the schema refuses e.g. a non-NMPA certificate number

        @rule(join=st.booleans())
        def facility(self, join=True):
            self._try(lambda s: engagements.add_participant(
                s, actors["hospital"], self.eid, ParticipantCreate(organisation_id=world.orgs["lab"],
                                                                   role="animal_facility"),
                s.get(Engagement, self.eid).version))
            if join:  # the lab accepts its invitation (an invitation alone is no animal facility)
                with Session(engine) as s:
                    invited = s.exec(select(EngagementParticipant.id).where(
                        EngagementParticipant.engagement_id == self.eid,
                        EngagementParticipant.organisation_id == world.orgs["lab"])).all()
                for pid in invited:
                    self._try(lambda s, pid=pid: engagements.answer_invitation(s, actors["lab"], pid, accept=True))

        @rule(to=st.sampled_from(list(S)), who=st.sampled_from(["hospital", "company", "lab", "commission"]),
              comment=st.sampled_from(["", "reason"]), stale=st.booleans())
        def move(self, to, who, comment, stale):
            target = to
            def go(s):
                v = s.get(Engagement, self.eid).version - (1 if stale else 0)
                engagements.transition(s, actors[who], self.eid, TransitionCreate(target=target, comment=comment), v)
            self._try(go)

        @rule(who=st.sampled_from(["hospital", "company"]), prepared=st.booleans())
        def advance(self, who, prepared):
            """Aim for the next state on the path (or the resume), so that runs get deep enough to meet the guards;
            ``prepared``: first record what that step's guards need (else the guards usually refuse it)."""
            with Session(engine) as s:
                eng = s.get(Engagement, self.eid)
                state = S(eng.state)
                path = PATHS[Pathway(pathway)]
                nxt = S(eng.held_from) if state == S.on_hold else (
                    path[path.index(state) + 1] if state in path[:-1] else None)
            if nxt is None:
                return
            if prepared:
                if nxt == S.animal_trial:
                    self.facility()
                if nxt == S.intent_signed:
                    self.accept("hospital")
                    self.accept("company")
                self.prepare(nxt.value)
            self._try(lambda s: engagements.transition(s, actors[who], self.eid, TransitionCreate(target=nxt),
                                                       s.get(Engagement, self.eid).version))

        @rule(prepared=st.sampled_from(HAND_PATHS[pathway]))
        def prepare(self, prepared):
            """Record what a guarded step needs, by whoever may (evidence only by its owner: the others are
            refused)."""
            for kind, ref in milestones_for(pathway, prepared):
                for who in ("hospital", "company", "lab"):
                    self._try(lambda s, kind=kind, ref=ref, who=who: engagements.add_milestone(
                        s, actors[who], self.eid,
                        MilestoneCreate(kind=kind, title=kind, occurred_on=TODAY, reference=ref)))

        @invariant()
        def consistent(self):
            with Session(engine) as s:
                eng = s.get(Engagement, self.eid)
                rows = s.exec(select(EngagementTransition).where(EngagementTransition.engagement_id == self.eid)
                              .order_by(EngagementTransition.seq)).all()
                assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
                pos = replay([(r.from_state, r.to_state) for r in rows], pathway)
                assert (pos.state.value, pos.held_from.value if pos.held_from else None) == (eng.state, eng.held_from)
                assert eng.version >= len(rows)
                need = s.get(Need, self.nid)
                live = counts_as_partnership(S(eng.state), S(eng.held_from) if eng.held_from else None)
                assert need.status == ("in_partnership" if live else "open")
                reached.update(r.to_state for r in rows)

    run_state_machine_as_test(ServiceWorkflow, settings=settings(
        max_examples=12, stateful_step_count=steps, deadline=None, derandomize=True,  # the same runs in CI
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    # runs get deep: at least four stages past the proposal (the whole pathway when it is shorter)
    assert set(HAND_PATHS[pathway][1:5]) - {"clinical_use"} <= reached, sorted(reached)
