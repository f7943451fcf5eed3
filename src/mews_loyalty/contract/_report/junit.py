"""``junit.xml``: the run as CI reads it, in the common Jenkins/Ant JUnit shape.

    <testsuites name="mews-loyalty contract connector" tests=".." failures=".." errors=".." time="..">
      <testsuite name="run" ...>          the run itself, first: its properties (verdict, read-only,
        <properties>...</properties>      checks not run, counts), whether it ended by itself
        <testcase name="run ended by itself"/>     (<error> when interrupted or it could not run),
        <testcase name="run finished its job"/>    finished its job (<error> per error or fault of
        <testcase name="nothing left behind"/>     the suite) and left nothing (<failure>)
      </testsuite>
      <testsuite name="<check>" ...>      one per check, ours and schemathesis'
        <testcase classname="connector.<check>" name="<operation>"/>  with a <failure> per finding
                                          (naming its cause; a cause the baseline accepts: system-out)
        <testcase name="not run"><skipped message="why"/></testcase>  what of the check did not run
      </testsuite>
    </testsuites>

Test names are the checks', the operations' and the fixed ones above: the same from run to run, so CI
can follow a test's history. Every suite carries its counts (tests, failures, errors, skipped) and a
``time``; checks interleave within the run's stages, so their own time is not measured and says 0,
while the root and the run suite carry the run's. Server text is made printable (``text``): XML 1.0
cannot hold most control characters, and one would make the file unreadable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from mews_loyalty.contract._report.causes import cause_id
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.text import printable

MESSAGE_LIMIT = 500
NOT_RUN = "not run"


def junit_xml(results: Results) -> bytes:
    root = ET.Element("testsuites", name=f"mews-loyalty contract {results.api}", time=_time(results.seconds))
    _run_suite(root, results)
    for check in sorted(set(results.checks()) | set(results.checks_not_run())):
        _check_suite(root, results, check)
    suites = root.findall("testsuite")
    for count in ("tests", "failures", "errors"):
        root.set(count, str(sum(int(suite.get(count, "0")) for suite in suites)))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def properties(results: Results) -> dict[str, str]:
    """What the run was and how it ended, for CI to read without parsing the summary."""
    found: dict[str, str] = {
        "api": results.api,
        "base_url": results.base_url,
        "verdict": results.verdict,
        "read_only": str(results.read_only).lower(),
        "checks_not_run": str(len(results.checks_not_run())),
        "requests": str(results.requests),
        "schemathesis_cases": str(results.schemathesis_cases),
        "findings": str(len(results.failures)),
        "causes": str(len(results.cause_cases)),
        "new_causes": str(len(results.new_causes())),
    }
    if results.writes is not None:
        found |= {
            f"writes_{name}": str(getattr(results.writes, name)) for name in ("created", "deleted", "left")
        }
    if results.interrupted is not None:
        found["interrupted_by"] = results.interrupted
    return found


def _run_suite(root: ET.Element, results: Results) -> None:
    suite = ET.SubElement(root, "testsuite", name="run")
    listed = ET.SubElement(suite, "properties")
    for name, value in properties(results).items():
        ET.SubElement(listed, "property", name=name, value=printable(value))
    ending = [f"COULD NOT RUN: {results.could_not_run}"] if results.could_not_run is not None else []
    if results.interrupted is not None:
        ending.append(f"INTERRUPTED by {results.interrupted}: the run stopped before its end")
    job = list(results.errors) + [f"suite fault in {f.where}: {f.error}" for f in results.faults]
    leftovers = [f"not cleaned up: {leftover}" for leftover in results.leftovers]
    _case(suite, f"{results.api}.run", "run ended by itself", "error", ending, seconds=results.seconds)
    _case(suite, f"{results.api}.run", "run finished its job", "error", job)
    _case(suite, f"{results.api}.run", "nothing left behind", "failure", leftovers)
    _count(suite, results.seconds)


def _check_suite(root: ET.Element, results: Results, check: str) -> None:
    suite = ET.SubElement(root, "testsuite", name=check)
    for operation, tally in results.by_check(check):
        found = [f for f in results.failures if f.check == check and f.operation == operation]
        texts = [
            f"cause {f.cause}: {f.message}\n{f.curl}".strip()
            for f in found
            if not results.warns(f.check, f.cause)
        ]
        new = _new_cases(results, check, operation)
        if new and not texts:
            texts = [f"{new} failures"]
        case = _case(suite, f"{results.api}.{check}", operation, "failure", texts, kind=check)
        accepted = sorted({_warning(results, f.cause) for f in found if results.warns(f.check, f.cause)})
        ET.SubElement(case, "system-out").text = "\n".join(
            [f"passed {tally.passed}, failed {tally.failed}", *accepted]
        )
    reasons = [n.reason for n in results.not_run if n.check == check]
    if reasons:
        case = ET.SubElement(
            suite, "testcase", classname=f"{results.api}.{check}", name=NOT_RUN, time=_time(0)
        )
        ET.SubElement(case, "skipped", message=printable("; ".join(reasons)))
    _count(suite, 0.0)


def _warning(results: Results, cause: str) -> str:
    """How a warning cause is shown: the baseline's reason, or advice."""
    reason = results.accepted.get(cause)
    return f"cause {cause} accepted: {reason}" if reason is not None else f"cause {cause}: advisory warning"


def _new_cases(results: Results, check: str, operation: str) -> int:
    """Failing cases of ``check`` at ``operation`` under causes no baseline accepts."""
    return sum(
        per_operation.get(operation, 0)
        for (name, kind), per_operation in results.cause_cases.items()
        if name == check and not results.warns(name, cause_id(name, kind))
    )


def _case(
    suite: ET.Element,
    classname: str,
    name: str,
    outcome: str,
    texts: Iterable[str],
    *,
    kind: str = "",
    seconds: float = 0.0,
) -> ET.Element:
    """A test case with one ``outcome`` element (failure or error) per text; none: it passed."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=_time(seconds))
    for text in texts:
        element = ET.SubElement(case, outcome, message=printable(text.split("\n", 1)[0])[:MESSAGE_LIMIT])
        if kind:
            element.set("type", kind)
        element.text = printable(text)
    return case


def _count(suite: ET.Element, seconds: float) -> None:
    cases = suite.findall("testcase")
    for count, outcome in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(count, str(sum(1 for case in cases if case.find(outcome) is not None)))
    suite.set("tests", str(len(cases)))
    suite.set("time", _time(seconds))


def _time(seconds: float) -> str:
    return f"{seconds:.3f}"


__all__ = ["junit_xml", "properties"]
