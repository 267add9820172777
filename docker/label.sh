#!/bin/sh
# Writes the label file (JSON) that `modelrt env` reads inside the image to say which image it runs in
# (modelrt.docker_images.read_image_label). Usage: label.sh FILE IMAGE ROW REVISION CREATED BASE
# The modelrt version is the one installed in the image's virtual environment ($MODELRT_PYTHON, by
# default /opt/modelrt/bin/python). Quotes, backslashes and control characters are dropped from the
# values, which come from build arguments, so the file is always valid JSON.
set -eu
if [ "$#" -ne 6 ]; then
    echo "usage: $0 FILE IMAGE ROW REVISION CREATED BASE" >&2
    exit 2
fi
file=$1
shift
python=${MODELRT_PYTHON:-/opt/modelrt/bin/python}
version=$("$python" -c 'import importlib.metadata as m; print(m.version("modelrt-core"))')
clean() { printf '%s' "$1" | tr -d '"\\' | tr -d '\000-\037'; }
mkdir -p "$(dirname "$file")"
printf '{"image": "%s", "row": "%s", "version": "%s", "revision": "%s", "created": "%s", "base": "%s"}\n' \
    "$(clean "$1")" "$(clean "$2")" "$(clean "$version")" "$(clean "$3")" "$(clean "$4")" "$(clean "$5")" >"$file"
