"""The SDK's clients: one per API, blocking and async, and the generic per-resource accessors."""
