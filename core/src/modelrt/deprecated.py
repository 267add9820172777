"""Deprecations of the plugin contract, kept in one place (as pytest does).

A hook parameter is deprecated by adding a constant here, a ``ModelRTDeprecationWarning`` whose message
says what to use instead and from which ``modelrt-core`` version it goes, and passing it to pluggy's
``warn_on_impl_args`` in ``hookspecs.py`` (``{"old_name": OLD_NAME_DEPRECATED}``): a plugin whose
implementation still takes that parameter then warns once when it is registered. The parameter is
removed at the next major of ``modelrt-core``, after at least one minor release of warnings. There are
none yet.
"""

from __future__ import annotations

__all__ = ["ModelRTDeprecationWarning"]


class ModelRTDeprecationWarning(DeprecationWarning):
    """A part of modelrt's plugin contract or API that goes away at the next major of ``modelrt-core``.

    Its own class, so a plugin's test suite can turn exactly these into errors
    (``-W error::modelrt.deprecated.ModelRTDeprecationWarning``) without failing on others' deprecations.
    """
