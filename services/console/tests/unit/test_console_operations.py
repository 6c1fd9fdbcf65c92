"""The console's operational surface: Prometheus metrics, and the settings of a session key rotation."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from backoffice_console.main import create_app
from backoffice_console.settings import Settings


async def test_metrics_count_the_console_requests_by_route_template() -> None:
    app = create_app(Settings(environment="development"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/no-such-page/4711")).status_code == 404
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted({"service": "console", "method": "GET", **labels}.items()))), 0.0)

    assert value("backoffice_http_requests_total", route="/healthz", status="200") >= 1
    # an unknown path is counted under one label, not its own (no label per path a client makes up)
    assert value("backoffice_http_requests_total", route="unmatched", status="404") >= 1
    assert not any("4711" in str(labels) for _, labels in samples)
    assert value("backoffice_http_request_duration_seconds_count", route="/healthz") >= 1


def test_previous_session_keys_are_a_comma_separated_list_of_fernet_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    current, first, second = (Fernet.generate_key().decode() for _ in range(3))
    monkeypatch.setenv("CONSOLE_SESSION_ENCRYPTION_KEY", current)
    monkeypatch.setenv("CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS", f"{first}, {second}")
    settings = Settings()
    assert settings.session_key() == current
    assert settings.session_encryption_previous_keys == [first, second]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"session_encryption_previous_keys": [Fernet.generate_key().decode()]}, "needs session_encryption_key"),
        (
            {"session_encryption_key": Fernet.generate_key().decode(), "session_encryption_previous_keys": ["short"]},
            "must be Fernet keys",
        ),
        ({"session_encryption_key": "not-a-fernet-key"}, "must be Fernet keys"),
    ],
)
def test_a_rotation_without_a_current_key_or_with_a_malformed_key_is_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)  # type: ignore[arg-type]
