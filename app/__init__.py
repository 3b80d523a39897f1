"""clinmatch: hospital-to-enterprise clinical-need matchmaking service."""

__version__ = "0.1.0"
