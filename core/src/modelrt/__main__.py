"""``python -m modelrt`` is the ``modelrt`` command."""

from modelrt.cli import main

raise SystemExit(main())
