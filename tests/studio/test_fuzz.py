"""The studio's API fuzzed from its own OpenAPI document (schemathesis): whatever the request, never a 5xx."""
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def fuzz(url: str, examples: int) -> list:
    """Every operation of the document at url, `examples` generated requests each; returns the operations."""
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    done = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case):
            case.call_and_validate(base_url=url, checks=[not_a_server_error], timeout=120)

        check()
        done.append(f"{operation.method.upper()} {operation.path}")
    return done


def test_no_request_makes_a_server_error(studio):
    operations = fuzz(studio.url, examples=25)
    assert {"POST /v1/voices", "POST /v1/audio/speech", "DELETE /v1/voices/{voice_id}"} <= set(operations)
