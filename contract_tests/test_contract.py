"""One test per check and operation of the session's verification, and four for the run itself."""

from collections.abc import Callable


def test_contract(contract_check: Callable[[], None]) -> None:
    contract_check()
