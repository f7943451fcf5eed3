"""Scenario checks: what the schema cannot say, per API, over the resource graph read from the catalog."""
