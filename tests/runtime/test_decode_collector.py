"""Decoding pauses the cyclic garbage collector for the items of one answer and leaves it as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import httpx
import pytest

from mews_loyalty import UnexpectedResponseError
from mews_loyalty._generated.connector.client import models
from mews_loyalty._wire.decode import collector_paused

from .fakes import FakeConnector, seeded


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_the_collector_is_off_while_items_are_made_and_on_again_after(make_client, collector_on, monkeypatch):
    seen: list[bool] = []
    decode = models.LoyaltyMembership.from_dict.__func__  # type: ignore[attr-defined]

    def watched(cls, data):
        seen.append(gc.isenabled())
        return decode(cls, data)

    monkeypatch.setattr(models.LoyaltyMembership, "from_dict", classmethod(watched))
    items = list(make_client(FakeConnector(items=seeded(1500))).loyalty_memberships.iter_all())
    assert len(items) == len(seen) == 1500
    assert not any(seen)
    assert gc.isenabled()


def test_an_application_that_turned_the_collector_off_keeps_it_off(make_client, collector_on):
    gc.disable()
    assert len(make_client(FakeConnector(items=seeded(10))).loyalty_memberships.get_all()) == 10
    assert not gc.isenabled()


def test_the_collector_comes_back_when_an_answer_does_not_decode(make_client, collector_on):
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"LoyaltyMemberships": [{"Id": "not a uuid"}], "Cursor": None})

    client = make_client(FakeConnector(), transport=httpx.MockTransport(broken))
    with pytest.raises(UnexpectedResponseError):
        client.loyalty_memberships.get_all()
    assert gc.isenabled()


def test_threads_decoding_at_once_leave_it_on_only_when_the_last_is_done(collector_on):
    inside, release = threading.Barrier(3), threading.Event()

    def decode() -> None:
        with collector_paused:
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=decode) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
