"""Realistic EAGLE3 pipeline output, for the demo, the example and the tests."""
