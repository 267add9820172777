"""The ``jetson`` plugin's hook implementations: declarations only.

Discovery imports this module, so it imports nothing but the hook marker; probing and verdicts are
imported when a hook is called. Probing reads files only, through the ``Host``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from modelrt.hookspecs import hookimpl

if TYPE_CHECKING:
    from modelrt.host import Host
    from modelrt.host_environment import Environment
    from modelrt.specs import Finding


@hookimpl
def probe_environment(host: Host) -> Mapping[str, object] | None:
    from modelrt_jetson.probe import probe_jetson

    facts = probe_jetson(host)
    return None if facts is None else facts.to_dict()


@hookimpl
def check_compatibility(env: Environment) -> Iterable[Finding]:
    from modelrt_jetson.verdicts import jetson_findings

    return jetson_findings(env)
