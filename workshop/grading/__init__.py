"""Grading: load a lesson from exercises/ or solutions/, run its checks in a subprocess."""
