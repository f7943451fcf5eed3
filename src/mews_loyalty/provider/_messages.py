"""Every text the kit puts in a problem, in each language it offers.

Keys name the situation; values map a language tag to a ``str.format`` template. English is the
fallback and must be present for every key; every translation has the same placeholders.
"""

from __future__ import annotations

ENGLISH = "en"
LANGUAGES: tuple[str, ...] = (ENGLISH, "cs", "de")

MESSAGES: dict[str, dict[str, str]] = {
    # Problem titles, one per problem kind.
    "title.bad-request": {
        "en": "Bad request",
        "cs": "Chybný požadavek",
        "de": "Fehlerhafte Anfrage",
    },
    "title.incomplete-criteria": {
        "en": "Invalid search criteria",
        "cs": "Neplatná kritéria vyhledávání",
        "de": "Ungültige Suchkriterien",
    },
    "title.unauthorized": {
        "en": "Unauthorized",
        "cs": "Neautorizováno",
        "de": "Nicht autorisiert",
    },
    "title.not-found": {
        "en": "Not found",
        "cs": "Nenalezeno",
        "de": "Nicht gefunden",
    },
    "title.method-not-allowed": {
        "en": "Method not allowed",
        "cs": "Metoda není povolena",
        "de": "Methode nicht erlaubt",
    },
    "title.unprocessable-content": {
        "en": "Unprocessable content",
        "cs": "Nezpracovatelný obsah",
        "de": "Nicht verarbeitbarer Inhalt",
    },
    "title.request-timeout": {
        "en": "Request timeout",
        "cs": "Vypršel časový limit",
        "de": "Zeitüberschreitung",
    },
    "title.internal-server-error": {
        "en": "Internal server error",
        "cs": "Interní chyba serveru",
        "de": "Interner Serverfehler",
    },
    # Problem details.
    "detail.malformed-json": {
        "en": "The request body is not valid JSON.",
        "cs": "Tělo požadavku není platný JSON.",
        "de": "Der Anfrageinhalt ist kein gültiges JSON.",
    },
    "detail.unsupported-media-type": {
        "en": "The request body must be sent as application/json.",
        "cs": "Tělo požadavku musí být odesláno jako application/json.",
        "de": "Der Anfrageinhalt muss als application/json gesendet werden.",
    },
    "detail.body-too-large": {
        "en": "The request body exceeds {limit} bytes.",
        "cs": "Tělo požadavku přesahuje {limit} bajtů.",
        "de": "Der Anfrageinhalt überschreitet {limit} Bytes.",
    },
    "detail.nested-too-deep": {
        "en": "The request body nests arrays and objects deeper than {limit} levels.",
        "cs": "Tělo požadavku vnořuje pole a objekty hlouběji než do {limit} úrovní.",
        "de": "Der Anfrageinhalt verschachtelt Arrays und Objekte tiefer als {limit} Ebenen.",
    },
    "detail.invalid-fields": {
        "en": "The request body does not match the schema; see errors for each field.",
        "cs": "Tělo požadavku neodpovídá schématu; podrobnosti k jednotlivým polím jsou v errors.",
        "de": "Der Anfrageinhalt entspricht nicht dem Schema; Details zu jedem Feld stehen in errors.",
    },
    "detail.incomplete-criteria": {
        "en": "The criteria complete none of the accepted combinations; see errors.",
        "cs": "Kritéria nenaplňují žádnou z přípustných kombinací; podrobnosti jsou v errors.",
        "de": "Die Kriterien erfüllen keine der zulässigen Kombinationen; Details stehen in errors.",
    },
    "detail.missing-credentials": {
        "en": "The bearer token is missing; send it as 'Authorization: Bearer <token>'.",
        "cs": "Chybí bearer token; pošlete jej jako 'Authorization: Bearer <token>'.",
        "de": "Das Bearer-Token fehlt; senden Sie es als 'Authorization: Bearer <token>'.",
    },
    "detail.malformed-credentials": {
        "en": "The Authorization header must have the form 'Bearer <token>'.",
        "cs": "Hlavička Authorization musí mít tvar 'Bearer <token>'.",
        "de": "Der Header Authorization muss die Form 'Bearer <token>' haben.",
    },
    "detail.invalid-credentials": {
        "en": "The bearer token is not valid.",
        "cs": "Bearer token není platný.",
        "de": "Das Bearer-Token ist ungültig.",
    },
    "detail.not-found": {
        "en": "There is no operation at this path.",
        "cs": "Na této cestě není žádná operace.",
        "de": "Unter diesem Pfad gibt es keine Operation.",
    },
    "detail.method-not-allowed": {
        "en": "This path accepts only {allowed}.",
        "cs": "Tato cesta přijímá pouze {allowed}.",
        "de": "Dieser Pfad akzeptiert nur {allowed}.",
    },
    "detail.business-rule": {
        "en": "The request breaks a business rule of the provider.",
        "cs": "Požadavek porušuje obchodní pravidlo poskytovatele.",
        "de": "Die Anfrage verstößt gegen eine Geschäftsregel des Anbieters.",
    },
    "detail.request-timeout": {
        "en": "The provider could not answer in time; try again later.",
        "cs": "Poskytovatel nestihl odpovědět včas; zkuste to později znovu.",
        "de": "Der Anbieter konnte nicht rechtzeitig antworten; versuchen Sie es später erneut.",
    },
    "detail.internal-server-error": {
        "en": "The provider failed to process the request; try again later.",
        "cs": "Poskytovateli se nepodařilo požadavek zpracovat; zkuste to později znovu.",
        "de": "Der Anbieter konnte die Anfrage nicht verarbeiten; versuchen Sie es später erneut.",
    },
    # Field error details.
    "field.required": {
        "en": "This field is required.",
        "cs": "Toto pole je povinné.",
        "de": "Dieses Feld ist erforderlich.",
    },
    "field.incomplete-combination": {
        "en": "Give at least one complete combination: {combinations}.",
        "cs": "Uveďte alespoň jednu úplnou kombinaci: {combinations}.",
        "de": "Geben Sie mindestens eine vollständige Kombination an: {combinations}.",
    },
    "field.not-allowed": {
        "en": "This property is not allowed here.",
        "cs": "Tato vlastnost zde není povolena.",
        "de": "Diese Eigenschaft ist hier nicht zulässig.",
    },
    "field.string-too-long": {
        "en": "The maximum length is {limit} characters.",
        "cs": "Maximální počet znaků je {limit}.",
        "de": "Die maximale Länge beträgt {limit} Zeichen.",
    },
    "field.string-too-short": {
        "en": "The minimum length is {limit} characters.",
        "cs": "Minimální počet znaků je {limit}.",
        "de": "Die Mindestlänge beträgt {limit} Zeichen.",
    },
    "field.array-too-long": {
        "en": "The maximum number of items is {limit}.",
        "cs": "Maximální počet položek je {limit}.",
        "de": "Die maximale Anzahl an Einträgen beträgt {limit}.",
    },
    "field.array-too-short": {
        "en": "The minimum number of items is {limit}.",
        "cs": "Minimální počet položek je {limit}.",
        "de": "Die Mindestanzahl an Einträgen beträgt {limit}.",
    },
    "field.invalid-type": {
        "en": "Wrong type; expected {expected}.",
        "cs": "Nesprávný typ; očekáváno: {expected}.",
        "de": "Falscher Typ; erwartet: {expected}.",
    },
    "field.invalid-format": {
        "en": "Invalid format; expected {expected}.",
        "cs": "Neplatný formát; očekáváno: {expected}.",
        "de": "Ungültiges Format; erwartet: {expected}.",
    },
    "field.not-allowed-value": {
        "en": "This value is not allowed; expected one of: {expected}.",
        "cs": "Tato hodnota není povolena; očekáváno jedno z: {expected}.",
        "de": "Dieser Wert ist nicht zulässig; erwartet einer von: {expected}.",
    },
    "field.out-of-range": {
        "en": "The value is out of the allowed range.",
        "cs": "Hodnota je mimo povolený rozsah.",
        "de": "Der Wert liegt außerhalb des zulässigen Bereichs.",
    },
    "field.invalid": {
        "en": "The value is not valid.",
        "cs": "Hodnota není platná.",
        "de": "Der Wert ist ungültig.",
    },
}
