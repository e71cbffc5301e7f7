"""Protection, policy and job statuses move only along their allowed transitions."""

from pathlib import Path

import pytest

from plugin.domain.jobs import JobStatus, after_error, job_transition
from plugin.domain.policies import PolicyStatus, policy_transition
from plugin.domain.protections import ProtectionStatus, protection_transition
from plugin.domain.transitions import ForbiddenTransitionError

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"


@pytest.mark.parametrize(
    ("current", "target"),
    [("pending", PolicyStatus.BOUND), ("retrying", PolicyStatus.FAILED), ("failed", PolicyStatus.RETRYING),
     ("bound", PolicyStatus.CANCELLED), ("pending", PolicyStatus.PENDING)],
)  # fmt: skip
def test_allowed_policy_transitions(current, target):
    assert policy_transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [("cancelled", PolicyStatus.BOUND), ("bound", PolicyStatus.PENDING), ("failed", PolicyStatus.BOUND),
     ("bound", PolicyStatus.RETRYING)],
)  # fmt: skip
def test_forbidden_policy_transitions_raise(current, target):
    with pytest.raises(ForbiddenTransitionError) as raised:
        policy_transition(current, target)
    assert (raised.value.machine, raised.value.current, raised.value.target) == ("policy", current, str(target))


def test_protection_transitions():
    assert protection_transition("active", ProtectionStatus.VOIDED) is ProtectionStatus.VOIDED
    assert protection_transition("needs_review", ProtectionStatus.ACTIVE) is ProtectionStatus.ACTIVE
    with pytest.raises(ForbiddenTransitionError):
        protection_transition("voided", ProtectionStatus.ACTIVE)
    with pytest.raises(ValueError):
        protection_transition("lost", ProtectionStatus.ACTIVE)


def test_job_transitions_and_attempts():
    assert job_transition("failed", JobStatus.QUEUED) is JobStatus.QUEUED
    with pytest.raises(ForbiddenTransitionError):
        job_transition("succeeded", JobStatus.RETRYING)
    assert after_error(7, 8, retryable=True) is JobStatus.RETRYING
    assert after_error(8, 8, retryable=True) is JobStatus.FAILED
    assert after_error(1, 8, retryable=False) is JobStatus.FAILED


def test_vendor_cancel_codes_stay_inside_their_adapter():
    offenders = [
        str(path.relative_to(PLUGIN))
        for path in PLUGIN.rglob("*.py")
        if "CANREQ" in path.read_text() and path.name != "loadsure.py"
    ]
    assert offenders == []
