"""Review output: text for people, JSON, and SARIF 2.1.0 checked against the schema's rules."""

from __future__ import annotations

import json
from typing import Any

from v4code.review.findings import Finding, counts, gating, place
from v4code.review.output import render_json, render_sarif, render_text
from v4code.review.runner import ReviewResult

# The parts of the SARIF 2.1.0 JSON schema (OASIS, sarif-schema-2.1.0.json) for every object
# v4code writes: required properties, the properties each object may have (the schema sets
# additionalProperties to false on all of them), enums and minimums.
SARIF: dict[str, dict[str, Any]] = {
    "log": {
        "required": ["version", "runs"],
        "props": {"$schema": str, "version": ["2.1.0"], "runs": ["run"],
                  "inlineExternalProperties": list, "properties": "bag"},
    },
    "run": {
        "required": ["tool"],
        "props": {"tool": "tool", "invocations": ["invocation"], "results": ["result"],
                  "properties": "bag", "automationDetails": dict, "originalUriBaseIds": dict,
                  "artifacts": list, "columnKind": ["utf16CodeUnits", "unicodeCodePoints"]},
    },
    "tool": {"required": ["driver"], "props": {"driver": "toolComponent", "extensions": list,
                                               "properties": "bag"}},
    "toolComponent": {
        "required": ["name"],
        "props": {"name": str, "version": str, "semanticVersion": str, "informationUri": str,
                  "fullName": str, "rules": ["reportingDescriptor"], "properties": "bag"},
    },
    "reportingDescriptor": {
        "required": ["id"],
        "props": {"id": str, "name": str, "shortDescription": "multiformatMessageString",
                  "fullDescription": "multiformatMessageString", "helpUri": str,
                  "properties": "bag"},
    },
    "multiformatMessageString": {"required": ["text"],
                                 "props": {"text": str, "markdown": str, "properties": "bag"}},
    "invocation": {
        "required": ["executionSuccessful"],
        "props": {"executionSuccessful": bool, "exitCode": int,
                  "toolExecutionNotifications": ["notification"], "properties": "bag"},
    },
    "notification": {
        "required": ["message"],
        "props": {"message": "message", "level": ["none", "note", "warning", "error"],
                  "locations": list, "properties": "bag"},
    },
    "result": {
        "required": ["message"],
        "props": {"ruleId": str, "ruleIndex": ("int", -1), "level": ["none", "note", "warning",
                  "error"], "message": "message", "locations": ["location"],
                  "partialFingerprints": dict, "properties": "bag"},
    },
    "message": {"required_any": ["text", "id"],
                "props": {"text": str, "markdown": str, "id": str, "arguments": list,
                          "properties": "bag"}},
    "location": {"props": {"physicalLocation": "physicalLocation", "message": "message",
                           "properties": "bag"}},
    "physicalLocation": {
        "required_any": ["address", "artifactLocation"],
        "props": {"artifactLocation": "artifactLocation", "region": "region",
                  "contextRegion": "region", "address": dict, "properties": "bag"},
    },
    "artifactLocation": {"props": {"uri": str, "uriBaseId": str, "index": ("int", -1),
                                   "description": "message", "properties": "bag"}},
    "region": {"props": {"startLine": ("int", 1), "startColumn": ("int", 1),
                         "endLine": ("int", 1), "endColumn": ("int", 1),
                         "snippet": dict, "message": "message", "properties": "bag"}},
}  # fmt: skip


def sarif_errors(value: Any, kind: str, where: str = "$") -> list[str]:
    spec = SARIF[kind]
    if not isinstance(value, dict):
        return [f"{where}: {kind} must be an object"]
    errors = [f"{where}: {kind} lacks {r!r}" for r in spec.get("required", []) if r not in value]
    if "required_any" in spec and not any(k in value for k in spec["required_any"]):
        errors.append(f"{where}: {kind} needs one of {spec['required_any']}")
    for key, item in value.items():
        rule = spec["props"].get(key)
        at = f"{where}.{key}"
        if rule is None:
            errors.append(f"{at}: {kind} has no property {key!r}")
        elif rule == "bag":
            errors += [] if isinstance(item, dict) else [f"{at}: a property bag is an object"]
        elif isinstance(rule, str):
            errors += sarif_errors(item, rule, at)
        elif isinstance(rule, tuple):
            if not isinstance(item, int) or isinstance(item, bool) or item < rule[1]:
                errors.append(f"{at}: an integer >= {rule[1]}, not {item!r}")
        elif isinstance(rule, list) and len(rule) == 1 and rule[0] in SARIF:
            if not isinstance(item, list):
                errors.append(f"{at}: an array")
            else:
                for i, element in enumerate(item):
                    errors += sarif_errors(element, rule[0], f"{at}[{i}]")
        elif isinstance(rule, list):
            errors += [] if item in rule else [f"{at}: {item!r} is not one of {rule}"]
        elif not isinstance(item, rule):
            errors.append(f"{at}: a {rule.__name__}, not {type(item).__name__}")
    return errors


def result_with(findings: list[Finding], **extra: Any) -> ReviewResult:
    result = ReviewResult("staged changes", ["app.py", "lib/ü x.py"], findings=findings)
    for key, value in extra.items():
        setattr(result, key, value)
    return result


FINDINGS = [
    Finding("app.py", 2, "blocker", "bug", "Division by zero when b is 0.", "Check b first."),
    Finding("app.py", 9, "minor", "style", "Name is unclear.", "", outside_diff=True),
    Finding("lib/ü x.py", 1, "nit", "docs", "Typo.", "Write 'the'.\nAnd fix the other one."),
]


def test_sarif_follows_the_schema() -> None:
    result = result_with(
        FINDINGS, skipped=[("yarn.lock", "lock file")], notes=["the model did not report"]
    )
    sarif = json.loads(render_sarif(result))
    assert sarif_errors(sarif, "log") == []
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == ["bug", "docs", "style"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
    # blocker error; the minor is outside the change, so only a note; nit note.
    assert [r["level"] for r in run["results"]] == ["error", "note", "note"]
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert uris == ["app.py", "app.py", "lib/%C3%BC%20x.py"]
    assert run["results"][1]["properties"]["outsideDiff"] is True
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [
        "skipped yarn.lock (lock file)",
        "the model did not report",
    ]


def test_the_schema_check_can_fail() -> None:
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "bad",
           "message": {}, "locations": [{"physicalLocation": {"region": {"startLine": 0}}}],
           "severity": "high"}]}]}  # fmt: skip
    errors = sarif_errors(bad, "log")
    assert len(errors) == 6, errors


def test_sarif_with_no_findings_is_valid() -> None:
    sarif = json.loads(render_sarif(result_with([])))
    assert sarif_errors(sarif, "log") == [] and sarif["runs"][0]["results"] == []


def test_json_output() -> None:
    data = json.loads(render_json(result_with(FINDINGS, cost=0.00123, seconds=1.5), 1, "major"))
    assert data["counts"] == {"blocker": 1, "major": 0, "minor": 1, "nit": 1}
    assert data["changed_lines"] == {"blocker": 1, "major": 0, "minor": 0, "nit": 1}
    assert data["outside_diff"] == 1 and data["exit_code"] == 1 and data["fail_on"] == "major"
    assert data["findings"][0] == {
        "path": "app.py", "line": 2, "severity": "blocker", "category": "bug",
        "message": "Division by zero when b is 0.", "suggestion": "Check b first.",
        "outside_diff": False,
    }  # fmt: skip
    assert data["cost_usd"] == 0.00123 and data["cached"] is False


def test_text_groups_by_file_and_ends_with_a_summary() -> None:
    text = render_text(
        result_with(FINDINGS, cost=0.0042, seconds=2.04, skipped=[("yarn.lock", "lock file")]),
        colour=False,
    )
    assert text.splitlines() == [
        "app.py",
        "      2  blocker  bug: Division by zero when b is 0.",
        "          → Check b first.",
        "      9  minor    style: Name is unclear.  (outside the change)",
        "",
        "lib/ü x.py",
        "      1  nit      docs: Typo.",
        "          → Write 'the'.",
        "            And fix the other one.",
        "",
        "skipped yarn.lock (lock file)",
        "v4code review: 1 blocker, 1 nit in 2 files; 1 minor outside the change ($0.0042, 2.0 s)",
    ]
    coloured = render_text(result_with(FINDINGS[:1]), colour=True)
    assert "\x1b[31m" in coloured  # blocker in red
    cached = render_text(result_with([], cached=True), colour=False)
    assert cached.endswith("no findings in 2 files (cached, no API call, 0.0 s)\n")


def test_sarif_levels_follow_severity_and_place() -> None:
    findings = [
        Finding("app.py", 1, severity, "bug", f"{severity} here.")
        for severity in ("blocker", "major", "minor", "nit")
    ] + [
        Finding("app.py", 30, severity, "bug", f"{severity} far.", outside_diff=True)
        for severity in ("blocker", "major")
    ]
    run = json.loads(render_sarif(result_with(findings)))["runs"][0]
    levels = [(r["properties"]["severity"], r["level"]) for r in run["results"]]
    assert levels == [
        ("blocker", "error"), ("major", "error"), ("minor", "warning"), ("nit", "note"),
        ("blocker", "note"), ("major", "note"),
    ]  # fmt: skip


def test_a_summary_never_says_no_findings_above_a_listed_one() -> None:
    only_outside = [Finding("app.py", 9, "nit", "style", "Far away nit.", outside_diff=True)]
    text = render_text(result_with(only_outside), colour=False)
    assert "Far away nit." in text
    summary = text.splitlines()[-1]
    assert "no findings" not in summary
    assert "nothing on the changed lines in 2 files; 1 nit outside the change" in summary


def test_place_keeps_changed_files_dedupes_and_marks_distance() -> None:
    changed = {"src/app.py": {10, 11}, "b.py": {1}}
    raw = [
        Finding("b/src/app.py", 12, "major", "bug", "Off by one."),
        Finding("app.py", 12, "major", "bug", "Off by one."),  # the same, by a unique suffix
        Finding("src/app.py", 30, "blocker", "bug", "Far away."),
        Finding("other.py", 1, "blocker", "bug", "Not in the change."),
        Finding("./b.py", 4, "minor", "style", "Close enough."),
        Finding("b.py", 1, "urgent", "bug", "Unknown severity."),
    ]
    placed = place(raw, changed)
    assert [(f.path, f.line, f.outside_diff) for f in placed] == [
        ("src/app.py", 12, False),
        ("b.py", 4, False),
        ("src/app.py", 30, True),
    ]
    assert [f.message for f in gating(placed, "blocker")] == []
    assert [f.message for f in gating(placed, "major")] == ["Off by one."]
    assert counts(placed) == {"blocker": 0, "major": 1, "minor": 1, "nit": 0}
