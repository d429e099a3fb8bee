"""Random sequences of enterprise and officer actions on one application, through the real API.

After every step (once the events have settled) the status, the flags, the history and the officer's view
must agree with a model of SPEC §5, and no history entry may record a move the status machine forbids.
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from shared.workflow import DELETABLE, EDITABLE, TRANSITIONS, WITHDRAWABLE, Action, Status
from tests.support import create, form, link, login, upload, wait_until

pytestmark = pytest.mark.e2e
BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"
EDITABLE_NAMES = {s.value for s in EDITABLE}


class ApplicationLifecycle(RuleBasedStateMachine):
    gateway_url = ""
    clients: tuple[httpx.Client, httpx.Client] | None = None

    @initialize()
    def start(self) -> None:
        if ApplicationLifecycle.clients is None:
            ApplicationLifecycle.clients = (login(self.gateway_url), login(self.gateway_url, "officer", "Officer@2026"))
        self.demo, self.officer = ApplicationLifecycle.clients
        self.body = form()
        link(self.demo, self.body)
        saved = create(self.demo, self.body)
        self.id = saved["id"]
        self.status = "DRAFT"  # the model
        self.files = 0
        self.submitted_once = False
        self.deleted = False

    # --- enterprise -----------------------------------------------------------------------------------

    @rule()
    def save_again(self) -> None:
        version = 1 if self.deleted else self._view()["version"]
        response = self.demo.put(f"{BASE}/{self.id}", json={**self.body, "version": version})
        self._expect(response, self.status in EDITABLE_NAMES, "DRAFT")

    @rule()
    def upload_file(self) -> None:
        response = upload(self.demo, self.id)
        allowed = self.status in EDITABLE_NAMES and not self.deleted
        self._expect(response, allowed, self.status, ok=201)
        if allowed:
            self.files += 1

    @rule()
    def submit(self) -> None:
        response = self.demo.post(f"{BASE}/{self.id}/submit")
        if self.deleted:
            assert response.status_code == 404
        elif self.status in EDITABLE_NAMES and self.files == 0:
            assert response.status_code == 422 and response.json()["code"] == "ATTACHMENT_REQUIRED"
        else:
            # Receipt accepts: this application's declaration has no other open case.
            if response.status_code == 200:
                self.submitted_once = True  # before settling, so the settle waits for customs' case too
            self._expect(response, self.status in EDITABLE_NAMES, "PENDING")

    @rule()
    def withdraw(self) -> None:
        response = self.demo.post(f"{BASE}/{self.id}/withdraw")
        self._expect(response, self.status in {s.value for s in WITHDRAWABLE}, "WITHDRAWN")

    @rule()
    def delete(self) -> None:
        response = self.demo.delete(f"{BASE}/{self.id}")
        if not self.deleted and self.status in {s.value for s in DELETABLE}:
            assert response.status_code == 200, response.text
            self.deleted = True
        else:
            self._expect(response, False, self.status)

    # --- officer --------------------------------------------------------------------------------------

    @rule()
    def accept(self) -> None:
        self._officer("accept", {}, {"PENDING"}, "COORDINATING")

    @rule(reason=st.sampled_from(["请补充材料", "证书信息与报关单不一致"]))
    def return_(self, reason: str) -> None:
        self._officer("return", {"reason": reason}, {"PENDING", "COORDINATING"}, "RETURNED")

    @rule(outcome=st.sampled_from(["SUCCESS", "UNRESOLVED", "NOT_ACCEPTED"]))
    def conclude(self, outcome: str) -> None:
        self._officer("conclude", {"outcome": outcome, "reply": "答复内容"}, {"COORDINATING"}, "CONCLUDED")

    def _officer(self, verb: str, body: dict, sources: set[str], target: str) -> None:
        response = self.officer.post(f"{CUSTOMS}/{self.id}/{verb}", json=body)
        if not self.submitted_once:
            assert response.status_code == 404  # customs never received it
        elif self.deleted:
            assert response.status_code == 409  # customs keeps the (withdrawn or returned) case on record
        else:
            self._expect(response, self.status in sources, target)

    # --- checks ---------------------------------------------------------------------------------------

    def _expect(self, response: httpx.Response, allowed: bool, target: str, ok: int = 200) -> None:
        if self.deleted:
            assert response.status_code == 404, response.text
            return
        if allowed:
            assert response.status_code == ok, response.text
            self.status = target
        else:
            assert response.status_code == 409, response.text
            assert response.json()["message"]
        self._settle()

    def _view(self) -> dict:
        return self.demo.get(f"{BASE}/{self.id}").json()

    def _settle(self) -> None:
        if self.deleted:
            return
        wait_until(lambda: self._view()["status"], lambda status: status == self.status)
        if self.submitted_once:
            wait_until(
                lambda: self.officer.get(f"{CUSTOMS}/{self.id}").json()["case"],
                lambda case: case["status"] == self.status and not case["awaitingConfirmation"],
            )

    @invariant()
    def views_agree_with_the_model(self) -> None:
        if not hasattr(self, "id"):
            return
        if self.deleted:
            assert self.demo.get(f"{BASE}/{self.id}").status_code == 404
            return
        view = self._view()
        status = Status(view["status"])
        assert view["status"] == self.status
        assert view["editable"] == (status in EDITABLE)
        assert view["deletable"] == (status in DELETABLE)
        assert view["withdrawable"] == (status in WITHDRAWABLE)
        history = view["history"]
        assert history[0]["fromStatus"] is None and history[0]["toStatus"] == "DRAFT"
        assert history[-1]["toStatus"] == view["status"]
        for before, after in itertools.pairwise(history):
            assert after["fromStatus"] == before["toStatus"]
            sources, target = TRANSITIONS[Action(after["action"])]
            assert Status(after["fromStatus"]) in sources and Status(after["toStatus"]) == target
        if self.submitted_once:
            case = self.officer.get(f"{CUSTOMS}/{self.id}").json()["case"]
            assert case["status"] == view["status"]
            assert case["canAccept"] == (status == Status.PENDING), case
            assert case["canConclude"] == (status == Status.COORDINATING)


def test_random_action_sequences_keep_every_view_consistent(stack) -> None:
    ApplicationLifecycle.gateway_url = stack.gateway_url
    run_state_machine_as_test(
        ApplicationLifecycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
