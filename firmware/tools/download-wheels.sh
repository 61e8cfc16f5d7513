#!/usr/bin/env bash
# The wheels of edgebox's dependencies for one machine, downloaded once into a cache keyed by
# setup.py's requirement lists and the target, so the image and the Debian package (which
# installs them offline on the box) carry the same set.
#   tools/download-wheels.sh PYTHON CACHE_DIR MACHINE EXTRAS PYVERSIONS  -> prints the folder
#   MACHINE: aarch64 | x86_64;  EXTRAS: e.g. "pi" or "";  PYVERSIONS: e.g. "3.11 3.12"
set -euo pipefail
python=$1 cache=$2 machine=$3 extras=$4 pyversions=$5
repo=$(cd "$(dirname "$0")/../.." && pwd)
key=$( (sed -n '/install_requires/,/\]/p;/"pi":/p' "$repo/setup.py"; echo "$machine $extras $pyversions") \
       | sha256sum | cut -c1-16)
deps=$cache/wheels-$key
if [ ! -d "$deps" ]; then
  echo "download-wheels: the dependencies' $machine wheels (Python $pyversions)" >&2
  rm -rf "$deps.part"
  platforms=(--platform "manylinux2014_$machine")
  for v in 17 28 31 34 36; do platforms+=(--platform "manylinux_2_${v}_$machine"); done
  requirements=$("$python" - "$repo/setup.py" "$extras" <<'PY'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in ("install_requires", "extras_require")}
extras = [r for extra in sys.argv[2].split() for r in kw["extras_require"][extra]]
print("\n".join(kw["install_requires"] + extras))
PY
)
  mapfile -t requirements <<< "$requirements"
  # One download per Python the box may have: pure wheels are shared, compiled ones
  # (markupsafe, lgpio) come once per version.
  for pyversion in $pyversions; do
    abi=cp${pyversion/./}
    "$python" -m pip download -q --disable-pip-version-check --only-binary=:all: \
      "${platforms[@]}" --python-version "$pyversion" --implementation cp --abi "$abi" \
      -d "$deps.part" "${requirements[@]}"
  done
  mv "$deps.part" "$deps"
fi
echo "$deps"
