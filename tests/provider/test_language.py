"""``Accept-Language``: problem titles and details in the client's language, English by default."""

from __future__ import annotations

import string

import pytest

from mews_loyalty.provider import LANGUAGES, BusinessRuleViolation
from mews_loyalty.provider._language import negotiate
from mews_loyalty.provider._messages import MESSAGES
from tests.provider._support import AUTH, LINK, LIST, assert_conforms, link_body, list_body


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("CS-cz", "cs"),
        ("fr", "en"),
        ("fr, cs;q=0.5", "cs"),
        ("en;q=0.5, de;q=0.9", "de"),
        ("de;q=0, cs;q=0.1", "cs"),
        ("cs;q=0.8, de;q=0.8", "cs"),
        ("*", "en"),
        ("fr, *;q=0.5, de;q=0.1", "en"),
        ("de;q=1.5", "en"),
        ("de;q=abc, cs", "cs"),
        (";;,,, =", "en"),
        ("x" * 5000, "en"),
        ("en-US,en;q=0.9,de;q=0.8", "en"),
    ],
)
def test_negotiation_follows_rfc_9110_weights(header, language):
    # Weights decide, then header order; refused (q=0) and malformed ranges never win; anything
    # unusable falls back to English instead of failing the request.
    assert negotiate(header) == language


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    # A missing or mistyped placeholder would crash the error path itself at run time.
    def placeholders(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(text.strip() for text in texts.values()), key
        assert len({frozenset(placeholders(text)) for text in texts.values()}) == 1, key


@pytest.mark.parametrize(
    ("header", "language", "title"),
    [
        (None, "en", "Bad request"),
        ("cs-CZ,cs;q=0.9", "cs", "Chybný požadavek"),
        ("de", "de", "Fehlerhafte Anfrage"),
        ("fr-FR", "en", "Bad request"),
    ],
)
def test_validation_problems_are_translated(reference, header, language, title):
    # Staff read these messages in Mews; titles, details and field details follow the header.
    headers = AUTH | ({"Accept-Language": header} if header else {})
    response = reference.post(LIST, json=list_body("x" * 51), headers=headers)
    problem = assert_conforms(response)
    assert problem["title"] == title
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()
    english = assert_conforms(reference.post(LIST, json=list_body("x" * 51), headers=AUTH))
    assert (problem["detail"] == english["detail"]) == (language == "en")
    assert (problem["errors"][0]["detail"] == english["errors"][0]["detail"]) == (language == "en")
    assert "50" in problem["errors"][0]["detail"]


@pytest.mark.parametrize("language", ["cs", "de"])
def test_auth_and_routing_problems_are_translated_too(reference, language):
    # Every problem goes through the same rendering, whichever step produced it.
    headers = {"Accept-Language": language}
    english = [
        reference.post(LIST, json=list_body("a")).json()["title"],
        reference.post("/nowhere", headers=AUTH).json()["title"],
        reference.get(LIST, headers=AUTH).json()["title"],
    ]
    translated = [
        reference.post(LIST, json=list_body("a"), headers=headers).json()["title"],
        reference.post("/nowhere", headers=AUTH | headers).json()["title"],
        reference.get(LIST, headers=AUTH | headers).json()["title"],
    ]
    assert all(a != b for a, b in zip(english, translated, strict=True))


def test_business_rule_texts_of_the_backend_follow_the_header_with_english_fallback():
    # A backend may give its 422 detail in several languages; the kit picks one.
    violation = BusinessRuleViolation({"en": "Card blocked.", "de": "Karte gesperrt."})
    assert violation.detail.render("de") == "Karte gesperrt."
    assert violation.detail.render("cs") == "Card blocked."
    assert BusinessRuleViolation({"de": "Nur Deutsch."}).detail.render("cs") == "Nur Deutsch."
    assert str(violation) == "Card blocked."


def test_successful_answers_do_not_depend_on_the_language(reference):
    # Only problem texts are localized; data is data.
    english = reference.put(LINK, json=link_body("M-1002"), headers=AUTH)
    czech = reference.put(LINK, json=link_body("M-1002"), headers=AUTH | {"Accept-Language": "cs"})
    assert english.json() == czech.json() == {"success": True}
