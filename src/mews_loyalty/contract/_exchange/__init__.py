"""The suite's exchanges with the server under test: its API client (paced, recorded, checked),
what it does about a 429 (``throttle``), and keeping tokens out of everything it prints (``masking``)."""
