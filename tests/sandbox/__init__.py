"""Tests of the Allegro sandbox."""
