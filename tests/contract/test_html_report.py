"""report.html, the one page QA opens after a run: it must render in a real browser and say it all."""

from __future__ import annotations

import re
from pathlib import Path

from mews_loyalty.contract._report.html import html_report
from mews_loyalty.contract._report.results import Results
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._browser import rendered_text, screenshot
from tests.contract.conftest import run_connector

CURL = 'curl -sS -i -X POST http://127.0.0.1:9/api/connector/v1/loyaltyTiers/getAll --data-raw \'{"AccessToken": "$MEWS_ACCESS_TOKEN"}\''


def _results() -> Results:
    results = Results("connector", "http://127.0.0.1:9")
    results.passed("status_code_conformance", "loyaltyTiers_getAll", 40)
    results.passed("pagination", "loyaltyTiers_getAll", 2)
    results.failed(
        "pagination", "loyaltyTiers_getAll", "page 2 repeats items of earlier pages: ['T-1']", CURL
    )
    results.failed(
        "request_id_header", "loyaltyPrograms_add", "no Request-Id <script>alert(1)</script>", CURL
    )
    results.skip("rate_limit", "needs --probe-rate-limit")
    results.errors.append("the server stopped answering: ReadTimeout")
    results.finish()
    return results


def test_the_page_renders_the_verdict_findings_and_what_was_not_run(tmp_path: Path) -> None:
    # The page QA forwards to a vendor: the verdict first, then each finding with its reproduction.
    page = tmp_path / "report.html"
    header = ["mews-loyalty contract connector: http://127.0.0.1:9", "read-only, seed 1, max-examples 25"]
    page.write_text(
        html_report(
            _results(),
            header,
            timings=[("scenarios", 3.25, 40), ("fuzzing", 10.0, 300)],
            links={"stateless phases": "schemathesis/html/index.html"},
        ),
        encoding="utf-8",
    )
    text = rendered_text(page)
    assert text.startswith("DOES NOT CONFORM connector API at http://127.0.0.1:9")
    assert "2 distinct findings in 2 checks, 1 run error," in text
    assert "[pagination] loyaltyTiers_getAll page 2 repeats items of earlier pages: ['T-1']" in text
    assert "no Request-Id <script>alert(1)</script>" in text, "server text is shown, never run"
    assert CURL in text
    assert "rate_limit : needs --probe-rate-limit" in text
    assert "the server stopped answering: ReadTimeout" in text
    assert "read-only, seed 1, max-examples 25" in text
    assert re.search(r"scenarios 3\.2 40 fuzzing 10\.0 300", text)
    assert re.search(r"pagination ours .* 1 2 1", text), "check, kind, meaning, operations, passed, failed"
    assert "stateless phases" in text
    png = screenshot(page, tmp_path / "report.png")
    assert png.stat().st_size > 20_000, "a blank page compresses to almost nothing"


def test_a_real_run_writes_the_page_beside_schemathesis_reports(connector_mock: str, tmp_path: Path) -> None:
    results = run_connector(connector_mock, tmp_path, phases=("fuzzing", "stateful"), max_examples=3)
    folder = tmp_path / "connector"
    page = folder / "report.html"
    source = page.read_text(encoding="utf-8")
    for href in re.findall(r'href="([^"]+)"', source):
        assert (folder / href).is_file(), href
    assert 'href="schemathesis/html/index.html"' in source
    assert 'href="schemathesis/stateful/html/index.html"' in source
    for token in (DEMO_CLIENT_TOKEN, DEMO_ACCESS_TOKEN):
        assert token not in source
    # No report, ours or schemathesis', points at a temporary copy of the spec that is gone.
    for report in [page, *folder.glob("schemathesis/**/index.html")]:
        assert "contract-spec-" not in report.read_text(encoding="utf-8"), report
    assert (folder / "schemathesis" / "openapi.json").is_file()
    timings = source[source.index('id="timings"') : source.index("</table>")]
    stages = re.findall(r"<tr><td>([^<]+)</td>", timings)
    assert stages == ["scenarios", "fuzzing", "stateful", "body-token probes", "clean-up"]
    text = rendered_text(page)
    assert text.startswith(f"{results.verdict} connector API at {connector_mock}")
    assert "scenarios" in text
    assert "fuzzing" in text
    assert f"{results.requests} requests" in text
