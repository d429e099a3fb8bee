"""Checks that read the source tree rather than run it."""
