"""Fails at import, as a plugin whose native library is missing does."""

raise ImportError("libexample.so.1: cannot open shared object file")
