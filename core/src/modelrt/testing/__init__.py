"""Test helpers for modelrt and for third-party plugins: explicit-plugin managers, fake hosts, conformance."""
