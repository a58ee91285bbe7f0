"""The EMF the functions print is what the template's alarms watch (namespace, metric name, dimensions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from miniauth_tools.local.template import Template

from support import TEMPLATE, Api


def _emf(text: str) -> list[dict[str, Any]]:
    blobs = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def _series(blobs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) for every metric of every blob."""
    found = []
    for blob in blobs:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {name: blob[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    found.append((directive["Namespace"], metric["Name"], dimensions))
    return found


def _alarmed(template: Template) -> dict[str, tuple[str, str, dict[str, str]]]:
    alarms = {}
    for name, alarm in template.of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if props["Namespace"] == "miniauth":
            dimensions = {d["Name"]: template.resolve(d["Value"]) for d in props["Dimensions"]}
            alarms[name] = (props["Namespace"], props["MetricName"], dimensions)
    return alarms


@pytest.fixture
def emf_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


def test_a_refusal_is_counted_per_result_code_and_in_total(api: Api, emf_on: None, capsys) -> None:
    capsys.readouterr()
    assert api.apply_code("no-such-code").code == "INVALID_AUTHCODE"
    blobs = _emf(capsys.readouterr().out)
    series = _series(blobs)
    assert sum("Refusals" in blob for blob in blobs) == 1  # both dimension sets in one blob
    refusals = [s for s in series if s[1] == "Refusals"]
    assert ("miniauth", "Refusals", {"service": "miniauth", "resultCode": "INVALID_AUTHCODE"}) in refusals
    assert ("miniauth", "Refusals", {"service": "miniauth"}) in refusals
    assert len(refusals) == 2, refusals


def test_every_miniauth_alarm_watches_a_series_the_functions_emit(api: Api, emf_on: None, capsys, clock) -> None:
    """A refusal and a replayed authCode: the alarms' exact (namespace, metric, dimensions) must appear."""
    capsys.readouterr()
    code = api.auth_code(["auth_user"])
    assert api.apply_code(code).code == "SUCCESS"
    clock.advance(31)  # past the retry window: a replay
    assert api.apply_code(code).code == "USED_AUTHCODE"
    emitted = _series(_emf(capsys.readouterr().out))
    alarms = _alarmed(TEMPLATE)
    assert {metric for _, metric, _ in alarms.values()} == {"Refusals", "ReplaysDetected"}
    for name, series in alarms.items():
        assert series in emitted, f"{name} watches {series}, which no function emits: {sorted(map(str, emitted))}"
