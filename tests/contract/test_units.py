"""The suite's building blocks: pacing, masking, curl lines, values made from the spec."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import pickle
import random
import subprocess
import sys
from datetime import date
from email.utils import formatdate
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mews_loyalty._spec.catalog import build_catalog, catalog, load_document
from mews_loyalty._spec.graph import resource_graph
from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN, paced_seconds
from mews_loyalty._transport.retry import retry_after_seconds
from mews_loyalty._transport.window import SlidingWindow
from mews_loyalty.contract._exchange.masking import MaskedTextFile, Secret, Secrets, curl_line
from mews_loyalty.contract._exchange.throttle import Throttle, parse_retry_after
from mews_loyalty.contract._fuzz.phases import creates, reads_only
from mews_loyalty.contract._report.folder import written
from mews_loyalty.contract._report.results import NotRunnable
from mews_loyalty.contract._report.text import CONTROL, printable
from mews_loyalty.contract._scenarios import values as S
from mews_loyalty.contract._scenarios.links import (
    batch_item_schema,
    require_ids_filter,
    require_update_key,
    resources,
)
from tests.conftest import DATA
from tests.runtime.fakes import FakeTime

TOKEN = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
SEED = 20251122
OTHER = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"


def test_pacer_never_exceeds_the_window_even_with_latency_jitter() -> None:
    # Against a live server the documented limit (200 per 30 s) must hold for every request we send.
    # The server counts arrivals, the pacer departures: a latency that varies by up to the SDK's
    # margin (2 % of the window) must not land an 11th request inside the server's window of 10.
    time = FakeTime(start=1000.0)
    pacer = Throttle((10, 1.0), clock=time.clock, sleep=time.sleep)
    jitter = random.Random(SEED)
    sent: list[float] = []
    arrivals = []
    for _ in range(50):
        pacer.acquire()
        sent.append(time.now)
        arrivals.append(time.now + jitter.uniform(0.0, WINDOW_SAFETY_MARGIN * 0.99))
        time.now += 0.001
    server = SlidingWindow(10, 1.0)  # the mock's own rate limit
    assert [server.try_acquire(at) for at in sorted(arrivals)] == [0.0] * 50
    assert sent[9] - sent[0] < 0.01, "the whole limit goes out at once, not 90 % of it"
    for start in sent:
        in_window = [t for t in sent if start <= t < start + paced_seconds(1.0)]
        assert len(in_window) <= 10
    assert pacer.paced == (10, paced_seconds(1.0))


def test_a_deliberate_burst_holds_back_the_paced_requests_after_it() -> None:
    # The rate-limit probe sends past the window without waiting; what follows it must wait for the
    # window to empty, as if the burst had been paced.
    time = FakeTime(start=1000.0)
    pacer = Throttle((3, 1.0), clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        pacer.record()
    start = time.now
    pacer.acquire()
    assert time.now - start == pytest.approx(paced_seconds(1.0))
    assert pacer.waited == pytest.approx(paced_seconds(1.0))


def test_pacer_honours_retry_after_and_backs_off_without_it() -> None:
    # A 429 must hold back every following request: for Retry-After, or exponentially when absent.
    time = FakeTime(start=1000.0)
    pacer = Throttle(None, clock=time.clock, sleep=time.sleep)
    assert pacer.observe(429, {"Retry-After": "7"}) == 7.0
    start = time.now
    pacer.acquire()
    assert time.now - start == pytest.approx(7.0)
    assert [pacer.observe(429, {}) for _ in range(3)] == [1.0, 2.0, 4.0]
    assert pacer.observe(200, {}) is None
    assert pacer.observe(429, {}) == 1.0  # a success resets the back-off


def test_retry_after_forms() -> None:
    # Retry-After may be delta-seconds or an HTTP-date (RFC 9110); anything else is unusable.
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(formatdate(1_000_030.0, usegmt=True), now=1_000_000.0) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_suite_reads_retry_after_strictly_where_the_sdk_is_tolerant() -> None:
    # One parser for both: the SDK waits 1.5 s for "1.5" (tolerant reading), while the suite, judging
    # what a server sent, takes only RFC 9110's whole seconds and refuses the rest as unusable.
    assert retry_after_seconds("1.5", 0.0) == 1.5
    assert parse_retry_after("1.5") is None
    assert parse_retry_after("-3") is None
    assert parse_retry_after("\u0663") is None  # a digit to str.isdigit, not to RFC 9110


def test_mask_replaces_every_token() -> None:
    # Reports and summaries are shared with providers: a token must never appear in them.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN"), Secret(OTHER, "MEWS_CLIENT_TOKEN")])
    text = json.dumps({"AccessToken": TOKEN, "ClientToken": OTHER, "Note": TOKEN + "x"})
    masked = secrets.mask(text)
    assert TOKEN not in masked
    assert OTHER not in masked
    assert "$MEWS_ACCESS_TOKEN" in masked


def test_the_suites_tokens_show_their_variable_and_never_their_value() -> None:
    # Clients and hooks end up in debug output and tracebacks: the suite's tokens are the SDK's
    # Secret, which shows the variable name, never the value, and refuses pickling.
    secret = Secret(TOKEN, "MEWS_ACCESS_TOKEN")
    secrets = Secrets([secret, Secret("short", "TOO_SHORT")])
    assert TOKEN not in f"{secret!r} {secret} {secrets!r} {list(secrets)}"
    assert repr(secret) == "Secret('$MEWS_ACCESS_TOKEN')"
    assert list(secrets) == [secret], "a token too short to mask safely is not masked as a substring"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_curl_line_reproduces_the_body_with_tokens_from_the_environment(tmp_path: Path) -> None:
    # The curl line is how a failure is reproduced: pasted into a shell with the tokens exported, it
    # must send exactly the original bytes, quotes and all, without the token in the line.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    body = json.dumps({"AccessToken": TOKEN, "Name": "O'Brien's \"club\" $HOME `x`"}).encode()
    line = curl_line(secrets, "POST", "http://127.0.0.1:1/api", {"Content-Type": "application/json"}, body)
    assert TOKEN not in line
    assert _sent_by_bash(line) == body


def test_a_curl_line_carries_control_characters_as_escapes_that_reproduce_them() -> None:
    # A fuzzed body may hold ESC or NUL: the line shown must not drive the terminal, and pasted into
    # bash it must still send those very bytes.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    body = json.dumps({"AccessToken": TOKEN, "Name": "a\x1b[2J'b\x07\\c"}, ensure_ascii=False).encode()
    line = curl_line(secrets, "POST", "http://127.0.0.1:1/api", {}, body + b"\n")
    assert CONTROL.search(line) is None
    assert "\n" not in line
    assert _sent_by_bash(line) == body + b"\n"
    # bash cannot hold a NUL in a word: such a body is sent from the report's file of it instead
    # (tests/contract/test_replay.py runs that line through curl).
    with_nul = curl_line(secrets, "POST", "http://127.0.0.1:1/api", {}, body + b"\n\x00end")
    assert with_nul.request is not None
    assert f"--data-binary @{with_nul.request.body_file}" in with_nul
    assert with_nul.request.body == secrets.mask_bytes(body + b"\n\x00end")
    assert CONTROL.search(with_nul) is None


def _sent_by_bash(curl: str) -> bytes:
    """The bytes a curl line's body word stands for, as bash expands it (tokens exported)."""
    data_word = curl.split("--data-raw ", 1)[1]
    echoed = subprocess.run(
        ["bash", "-c", f"printf %s {data_word} | od -An -tx1"],
        env={"MEWS_ACCESS_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    return bytes.fromhex(echoed.stdout.decode())


def test_printable_shows_every_control_character_and_keeps_tabs_and_newlines() -> None:
    text = "a\tb\nc\x00d\x07e\x1b[31mf\x7fg\x9bh\r\ud800\ufffe"
    assert printable(text) == "a\tb\nc\\x00d\\x07e\\x1b[31mf\\x7fg\\x9bh\\x0d\\ud800\\ufffe"
    assert printable("Zürich · 東京 ✓") == "Zürich · 東京 ✓"


def test_scrubbing_never_follows_a_link_out_of_the_folder(tmp_path: Path) -> None:
    # The safety net rewrites only the run's own files: a link in the folder is neither read nor written.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    outside = tmp_path / "outside.env"
    outside.write_text(f"TOKEN={TOKEN}\n")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside)
    (folder / "leaked.txt").write_text(f"TOKEN={TOKEN}\n")
    assert [p.name for p in written(folder)] == ["leaked.txt"]
    assert secrets.scrub_files(written(folder)) == [folder / "leaked.txt"]
    assert outside.read_text() == f"TOKEN={TOKEN}\n"
    assert (folder / "leaked.txt").read_text() == "TOKEN=$MEWS_ACCESS_TOKEN\n"


def test_masked_file_masks_tokens_split_across_writes(tmp_path: Path) -> None:
    # Report writers stream their output; a token cut in two by a write must still be masked.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    path = tmp_path / "out.txt"
    with MaskedTextFile(path, secrets) as file:
        file.write('{"AccessToken": "' + TOKEN[:10])
        file.write(TOKEN[10:] + '"}\n{"again": "' + TOKEN + '"}')
    content = path.read_text()
    assert TOKEN not in content
    assert content.count("$MEWS_ACCESS_TOKEN") == 2


def test_masked_file_masks_a_token_written_one_character_at_a_time(tmp_path: Path) -> None:
    # schemathesis' VCR writer emits long values a character per call; the token must not slip through.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    path = tmp_path / "cassette.yaml"
    text = f'body: "{TOKEN}"\nnext: "{TOKEN}"'
    with MaskedTextFile(path, secrets) as file:
        for char in text:
            file.write(char)
    assert path.read_text() == 'body: "$MEWS_ACCESS_TOKEN"\nnext: "$MEWS_ACCESS_TOKEN"'


def test_scrub_finds_base64_encoded_tokens(tmp_path: Path) -> None:
    # A writer that base64-encodes bodies would hide a token from a plain search; the net catches it.
    secrets = Secrets([Secret(TOKEN, "MEWS_ACCESS_TOKEN")])
    for shift in range(3):
        (tmp_path / f"encoded{shift}.txt").write_bytes(base64.b64encode(b"x" * shift + TOKEN.encode()))
    (tmp_path / "clean.txt").write_text("nothing here")
    changed = secrets.scrub_files(written(tmp_path))
    assert sorted(p.name for p in changed) == ["encoded0.txt", "encoded1.txt", "encoded2.txt"]


def test_resources_come_from_the_catalog() -> None:
    # Scenario checks must cover every paged and writable resource without naming them in code.
    found = {r.name: r for r in resources()}
    paged = {op.resource for op in catalog("connector").operations if op.is_paged}
    assert set(found) == paged
    order = [r.name for r in resources()]
    for resource in resources():
        for target in resource.reference_targets.values():
            assert order.index(target) < order.index(resource.name), "referenced resources come first"
        assert resource.ids_filter in resource.get_all.request_properties
    # What the scenarios need to create consistent records, as the shipped spec's links state it.
    by_name = {r.name: r for r in resources()}
    assert by_name["loyalty_memberships"].reference_targets == {
        "LoyaltyProgramId": "loyalty_programs",
        "LoyaltyTierId": "loyalty_tiers",
    }
    assert by_name["loyalty_tiers"].parents == {"LoyaltyProgramIds": "LoyaltyProgramId"}
    assert by_name["loyalty_tiers"].filter_sources == {"LoyaltyProgramIds": "loyalty_programs"}
    assert {r.name: require_update_key(r) for r in resources()} == {
        "loyalty_programs": "LoyaltyProgramId",
        "loyalty_tiers": "LoyaltyTierId",
        "loyalty_memberships": "LoyaltyMembershipId",
    }


def _renamed_tiers(monkeypatch: pytest.MonkeyPatch, *, update_link: bool = True) -> dict[str, object]:
    """A copy of the Connector spec whose tier listing, id filter and update key have new names."""
    document = copy.deepcopy(dict(load_document("connector")))
    schemas = document["components"]["schemas"]
    for item in document["paths"].values():
        raw = item["post"]
        if raw["operationId"] == "loyaltyTiers_getAll":
            raw["operationId"] = "loyaltyTiers_list"
            request = schemas[
                raw["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            ]
            request["properties"]["TierIds"] = request["properties"].pop("LoyaltyTierIds")
        if raw["operationId"] == "loyaltyTiers_update":
            request = schemas[
                raw["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            ]
            update_item = schemas[
                request["properties"]["LoyaltyTierUpdates"]["items"]["$ref"].rsplit("/", 1)[1]
            ]
            update_item["properties"]["TierKey"] = update_item["properties"].pop("LoyaltyTierId")
            update_item["required"] = [
                "TierKey" if r == "LoyaltyTierId" else r for r in update_item["required"]
            ]
            update_item["x-record-id"] = "TierKey"  # the mark names the record's key: it follows it
        links = raw["responses"]["200"].get("links", {})
        for name, link in list(links.items()):
            if link["operationId"] == "loyaltyTiers_getAll":
                link["operationId"] = "loyaltyTiers_list"
            body = link["requestBody"]
            if "LoyaltyTierIds" in body and link["operationId"] == "loyaltyTiers_list":
                body["TierIds"] = body.pop("LoyaltyTierIds")
            if "LoyaltyTierUpdates" in body:
                body["LoyaltyTierUpdates"] = [{"TierKey": body["LoyaltyTierUpdates"][0]["LoyaltyTierId"]}]
                if not update_link:
                    del links[name]
    # Regeneration would write this module; the generated getAll function stands in.
    api = "mews_loyalty._generated.connector.client.api.loyalty_tiers"
    monkeypatch.setitem(
        sys.modules, f"{api}.loyalty_tiers_list", importlib.import_module(f"{api}.loyalty_tiers_get_all")
    )
    return document


def test_a_resource_s_names_come_from_the_spec_s_links_not_from_other_names(monkeypatch):
    # Renamed in a copy of the spec: the tier listing, its id filter and the update item's key. The
    # roles come from x-effect and the names from the links, so nothing is guessed from "LoyaltyTiers".
    edited = resource_graph(build_catalog("connector", _renamed_tiers(monkeypatch)))
    tiers = edited["loyalty_tiers"]
    assert tiers.get_all.operation_id == "loyaltyTiers_list"
    assert (require_ids_filter(tiers), require_update_key(tiers)) == ("TierIds", "TierKey")
    assert tiers.reference_targets == {"LoyaltyProgramId": "loyalty_programs"}
    assert tiers.parents == {"LoyaltyProgramIds": "LoyaltyProgramId"}
    assert edited["loyalty_memberships"].reference_targets["LoyaltyTierId"] == "loyalty_tiers"


def test_a_name_the_spec_does_not_state_is_not_guessed(monkeypatch):
    # Without the link to the update, no update key is made up from the resource's name.
    document = _renamed_tiers(monkeypatch, update_link=False)
    tiers = resource_graph(build_catalog("connector", document))["loyalty_tiers"]
    assert require_ids_filter(tiers) == "TierIds"
    with pytest.raises(NotRunnable, match="update item property"):
        require_update_key(tiers)


def test_made_up_add_items_are_valid_against_the_spec() -> None:
    # Values the scenarios invent must be valid, or a correct server would be blamed for rejecting them.
    document = catalog("connector").document
    for resource in resources():
        if resource.add is None:
            continue
        schema = batch_item_schema(resource.add)
        for name, sub in schema["properties"].items():
            value = S.make_value(document, sub, name=name, variant=3, reference=lambda _n: None)
            resolved = {**S.non_null(document, sub), "components": document["components"]}
            jsonschema.validate(value, resolved, cls=jsonschema.Draft202012Validator)


def _published_batch_item(published: dict[str, Any], path: str, batch_field: str | None) -> dict[str, Any]:
    """The properties of one batch item of ``path``'s request in Mews' published spec."""

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = published["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    request = published["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch = resolve(resolve(request)["properties"][batch_field])
    properties: dict[str, Any] = resolve(batch["items"])["properties"]
    return properties


def test_made_up_values_are_what_mews_published_spec_accepts_too() -> None:
    # Where our spec widens a field (a date or a date-time), the value sent is one Mews' published
    # spec takes as well: a correct server that follows it must not be blamed.
    published = yaml.safe_load((DATA / "connector-loyalty-published.yaml").read_text())
    document = catalog("connector").document
    checked = 0
    for resource in resources():
        if resource.add is None:
            continue
        schema = batch_item_schema(resource.add)
        published_items = _published_batch_item(published, resource.add.path, resource.add.batch_field)
        for name, sub in schema["properties"].items():
            if published_items.get(name, {}).get("format") == "date":
                value = S.make_value(document, sub, name=name, variant=3, reference=lambda _n: None)
                assert date.fromisoformat(value).isoformat() == value, name
                checked += 1
    assert checked, "the published spec has a date field on some add item"


def test_same_value_allows_the_spec_representations() -> None:
    # A date sent may come back as midnight UTC, and ids in another case: neither is a difference.
    assert S.same_value("2031-01-15", "2031-01-15T00:00:00Z")
    assert S.same_value("2031-01-15T10:00:00+02:00", "2031-01-15T08:00:00Z")
    assert S.same_value("3FA85F64-5717-4562-B3FC-2C963F66AFA6", "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert not S.same_value("2031-01-15", "2031-01-16T00:00:00Z")
    assert not S.same_value(1, 2)


# --- what an operation does, from the spec's x-effect ------------------------------------------------


def test_the_specs_say_what_every_operation_does():
    # A read-only run against Mews' shared demo sends exactly these; a write budget counts these creates.
    operations = [op for api in ("connector", "reverse") for op in catalog(api).operations]
    assert all(op.effect is not None for op in operations)
    assert {op.operation_id for op in operations if reads_only(op)} == {
        "loyaltyMemberships_getAll",
        "loyaltyPrograms_getAll",
        "loyaltyTiers_getAll",
        "listMemberships",
        "searchMembers",
    }
    assert {op.operation_id for op in operations if creates(op)} == {
        "loyaltyMemberships_add",
        "loyaltyPrograms_add",
        "loyaltyTiers_add",
        "enrollMember",
    }


@pytest.mark.parametrize("effect", [None, "read"], ids=["unmarked", "x-effect-read"])
def test_a_new_operation_named_like_a_read_is_sent_read_only_only_when_the_spec_says_so(effect, monkeypatch):
    # "getOrCreate" sounds like a read; only the spec can say it is one, and absent means a write.
    document = copy.deepcopy(dict(load_document("connector")))
    raw = copy.deepcopy(document["paths"]["/api/connector/v1/loyaltyMemberships/add"]["post"])
    raw["operationId"] = "loyaltyMemberships_getOrCreate"
    raw.pop("x-effect")
    if effect is not None:
        raw["x-effect"] = effect
    document["paths"]["/api/connector/v1/loyaltyMemberships/getOrCreate"] = {"post": raw}
    # Regeneration would write this module; the generated add function stands in.
    api = "mews_loyalty._generated.connector.client.api.loyalty_memberships"
    stand_in = importlib.import_module(f"{api}.loyalty_memberships_add")
    monkeypatch.setitem(sys.modules, f"{api}.loyalty_memberships_get_or_create", stand_in)
    edited = build_catalog("connector", document).by_id["loyaltyMemberships_getOrCreate"]
    assert reads_only(edited) is (effect == "read")
    assert not creates(edited)


def test_an_effect_the_suite_does_not_know_is_a_spec_error():
    document = copy.deepcopy(dict(load_document("reverse")))
    document["paths"]["/memberships/list"]["post"]["x-effect"] = "reads"
    with pytest.raises(ValueError, match="x-effect must be one of"):
        build_catalog("reverse", document)


def test_an_engine_error_that_groups_others_names_them() -> None:
    # Hypothesis reports a failure that did not happen again on its retry as "Inconsistent results
    # ... (1 sub-exception)": the report must say which failure that was, or nobody can act on it.
    from mews_loyalty.contract._fuzz.events import _describe

    inner = AssertionError("Response violates schema:\n  'id' is a required property")
    group = ExceptionGroup("Inconsistent results: failed on the first run but now succeeds", [inner])
    text = _describe(group)
    assert text.startswith("Inconsistent results: failed on the first run but now succeeds")
    assert "[AssertionError: Response violates schema: 'id' is a required property]" in text
    assert _describe(ValueError("plain\n  error")) == "plain error"


def test_a_run_draws_no_constants_from_local_modules_and_keeps_hypothesis_files_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hypothesis mixes constants from the source of "local" modules into its cases: the same seed
    # would then make other cases in a checkout than from a wheel, and with --workers the modules
    # are parsed from several threads (a CPython 3.11 race). A run turns that off, and keeps
    # Hypothesis' caches with the reports instead of the current directory.
    from hypothesis import configuration
    from hypothesis.internal.conjecture import providers

    from mews_loyalty.contract._fuzz import seeding as _hypothesis

    monkeypatch.delenv(_hypothesis.STORAGE_VARIABLE, raising=False)
    original = providers._get_local_constants
    before = configuration.storage_directory(intent_to_write=False).home_directory
    with _hypothesis.for_run(tmp_path / "store") as replaced:
        assert replaced
        assert len(providers._get_local_constants()) == 0
        assert configuration.storage_directory("x").path == tmp_path / "store" / "x"
    assert providers._get_local_constants is original
    assert configuration.storage_directory(intent_to_write=False).home_directory == before


def test_a_storage_directory_the_user_set_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis import configuration

    from mews_loyalty.contract._fuzz import seeding as _hypothesis

    monkeypatch.setenv(_hypothesis.STORAGE_VARIABLE, str(tmp_path / "mine"))
    before = configuration.storage_directory(intent_to_write=False).home_directory
    with _hypothesis.for_run(tmp_path / "store"):
        assert configuration.storage_directory(intent_to_write=False).home_directory == before


def test_with_several_threads_a_run_parses_one_source_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPython 3.11 shares the AST builder's recursion counter between threads; Hypothesis parses lambda
    # sources while describing strategies, so two workers parsing at once failed a case with
    # "SystemError: AST constructor recursion depth mismatch". With workers, parsing is serialised.
    import ast
    import threading
    import time

    from mews_loyalty.contract._fuzz import seeding as _hypothesis

    real_parse = ast.parse
    busy = {"now": 0, "most": 0}
    guard = threading.Lock()

    def slow_parse(source: str, *args: object, **kwargs: object) -> ast.Module:
        with guard:
            busy["now"] += 1
            busy["most"] = max(busy["most"], busy["now"])
        time.sleep(0.05)  # long enough for a second thread to arrive while this one parses
        with guard:
            busy["now"] -= 1
        return real_parse(source)

    monkeypatch.setattr(ast, "parse", slow_parse)
    with _hypothesis.for_run(tmp_path, threads=1):
        assert ast.parse is slow_parse
    with _hypothesis.for_run(tmp_path, threads=2):
        results: list[str] = []
        threads = [
            threading.Thread(target=lambda: results.append(ast.dump(ast.parse("x = 1")))) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert ast.parse is slow_parse
    assert results == [ast.dump(real_parse("x = 1"))] * 3
    assert busy["most"] == 1


def test_a_hypothesis_without_these_internals_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another Hypothesis may lack the private function or the storage helpers: the run goes on as is.
    from hypothesis import configuration
    from hypothesis.internal.conjecture import providers

    from mews_loyalty.contract._fuzz import seeding as _hypothesis

    monkeypatch.delenv(_hypothesis.STORAGE_VARIABLE, raising=False)
    monkeypatch.delattr(providers, "_get_local_constants")
    monkeypatch.delattr(configuration, "set_hypothesis_home_dir")
    with _hypothesis.for_run(tmp_path / "store") as replaced:
        assert not replaced
    assert not (tmp_path / "store").exists()
