"""Unit tests of the pure pieces: formulas, windows, ranking and the domain key."""
