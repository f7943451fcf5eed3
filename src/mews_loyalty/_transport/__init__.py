"""Getting a request to the server and an answer back: the retrying sender, retry policy, pacing under
the rate limit, the sliding window both the SDK and the mock count in, and redaction of secrets."""
