"""Helpers for tests: fakes at narrow seams and real-process harnesses."""
