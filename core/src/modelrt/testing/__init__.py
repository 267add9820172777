"""Test helpers for modelrt and for third-party plugins: explicit-plugin managers, fake hosts, conformance."""

from modelrt.testing.managers import manager_with

__all__ = ["manager_with"]
