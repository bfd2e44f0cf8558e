"""Journals: every record of every ring, as it was in the ring, on disk."""
