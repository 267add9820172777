"""Deprecations of the plugin contract, kept in one place (as pytest does).

A hook parameter is deprecated by adding a constant here and passing it to
``warn_on_impl_args`` in ``hookspecs.py``; it is removed at the next major of ``modelrt-core``.
There are none yet.
"""

from __future__ import annotations
