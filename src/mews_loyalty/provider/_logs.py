"""The kit's log, visible without setup: a provider must see why its app answered 500.

The SDK stays quiet (``mews_loyalty`` carries a ``NullHandler``: a library logs, the application
decides where to). The kit is different: it *is* the application's request path, and under a plain
``uvicorn module:app`` nobody configures the root logger, so a 500's traceback or the reason an entry
was withheld would go nowhere. So when the app is built and neither ``mews_loyalty.provider`` nor the
root logger has a handler, the kit attaches one writing to stderr (and lets INFO through, for token
fingerprints). It stands aside, at every record, as soon as the application configures logging
(``logging.basicConfig()``, ``dictConfig``, a handler of its own on ``mews_loyalty.provider``): then
the records go where the application routes them, once.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "mews_loyalty.provider"
logger = logging.getLogger(LOGGER_NAME)

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class FallbackHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` while nobody else handles the kit's records."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers or any(handler is not self for handler in logger.handlers):
            return  # configured since: the application's handlers have the record
        self.setStream(sys.stderr)  # the stderr of now (a test's capture, a redirected stream)
        super().emit(record)


def make_visible() -> None:
    """Attach the fallback handler unless the kit's logger or the root logger already has a handler."""
    if logger.handlers or logging.getLogger().handlers:
        return
    logger.addHandler(FallbackHandler())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
