#!/usr/bin/env bash
# Print the path of a working interpreter for Python VERSION (e.g. 3.10), or nothing.
# pyenv installs a `python3.10` shim that fails unless that version is selected, so every
# candidate is run once to check it really is that version.
version=${1:?usage: scripts/find_python.sh VERSION}
candidates=("python$version")
if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/"$version".*/bin/python"$version")
fi
for candidate in "${candidates[@]}"; do
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
        command -v "$candidate"
        exit 0
    fi
done
