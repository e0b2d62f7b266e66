"""Every operation in /api/openapi.json, fuzzed by schemathesis from the document itself: never a 5xx,
errors always in the JSON shape. Bounded: about 12 examples per operation, through the WSGI app (no server).

(schemathesis' own pytest plugin does not run on pytest 9, so the cases are drawn with hypothesis here.)
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 12


def test_rel_openapi_operations_never_5xx(app, clinician_a, bearer, outcomes):
    from ecg_backend.services.patients import create_patient
    from ecg_backend.services.users import get_user

    with app.app_context():  # something for the id routes to find
        create_patient(get_user(clinician_a.id), {"name": "Fuzz Target"})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    seen, failures = {}, []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION * len(operations),
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data):
        operation = data.draw(st.sampled_from(operations))
        case = data.draw(operation.as_strategy())
        # a fresh token per case: a fuzzed DELETE /api/v1/tokens/{id} may revoke the one used before
        response = case.call(headers=bearer(clinician_a))
        seen[operation.label] = seen.get(operation.label, 0) + 1
        outcomes.record("schemathesis: /api/openapi.json operations", response.status_code)
        problem = None
        if response.status_code >= 500:
            problem = "server error"
        elif response.status_code >= 400:
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict) or set(error) != {"code", "message", "details"} or not error["message"]:
                problem = "error not in the JSON shape"
        if problem:
            failures.append(f"{operation.label}: {problem}: {response.status_code} {response.text[:200]}")

    fuzz()
    assert not failures, "\n".join(sorted(set(failures))[:20])
    assert len(seen) >= len(operations) * 0.8, sorted(seen)
