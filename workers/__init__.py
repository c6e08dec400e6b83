"""allegro-feed: real-time Allegro marketplace publishing for online stores."""

__version__ = "0.1.0"
