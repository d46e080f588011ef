"""Local emulators of the platform APIs, used by the tests and by ``tracker demo``.

Each one is a real HTTP server on 127.0.0.1 speaking its platform's wire format, so the
real client library (tweepy, ...) is exercised end to end with no network.
"""
