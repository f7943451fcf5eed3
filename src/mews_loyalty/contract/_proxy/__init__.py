"""The validating proxy: real traffic forwarded unchanged and judged against the spec (``watch``)."""
