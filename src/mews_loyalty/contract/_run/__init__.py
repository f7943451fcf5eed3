"""Putting a run together: its options, the stages both runs share, each API's run, the write ledger and
clean-up, and the embedded run of both mocks."""
