"""Typed SDK, stateful mocks and contract tests for Mews' loyalty APIs."""

__version__ = "0.1.0"
