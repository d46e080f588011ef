"""tracker: measure whether leaders "work out loud" in public."""

__version__ = "0.1.0"
