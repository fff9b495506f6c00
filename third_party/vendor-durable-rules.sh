#!/usr/bin/env bash
# Re-create third_party/durable-rules/: PyPI's source release of durable-rules 2.0.28 with
# luoshi's fix, which every install of luoshi builds its rules engine from (docs/deploy.md).
#
#     third_party/vendor-durable-rules.sh && git status third_party/
#
# shows no change when the folder in the repository is what this script says it is
# (tests/test_engine_build.py compares the two). `vendor-durable-rules.sh DIR` writes DIR
# instead. It needs internet access (or a pip mirror) and is run only to review or re-create
# the folder.
#
# What differs from PyPI's release, and nothing else:
#   1. src/rulespy/rules.c: `PyEval_CallObject(` -> `PyObject_CallObject(` (5 calls). The old
#      name was removed from Python 3.13's C API: built unchanged, the module compiles but
#      fails to import there ("undefined symbol: PyEval_CallObject"). The new call does the
#      same on every Python 3 (shared/notes/durable-rules.md, §3.4). durable-rules has had no
#      release since 2020.
#   2. setup.py: version 2.0.28+luoshi.1, a local version label (PEP 440): `pip list` and
#      `luoshi --version` tell this build from PyPI's, and luoshi's pin `==2.0.28` matches both.
#   3. The release's generated metadata (PKG-INFO, libpy/durable_rules.egg-info/) is left out:
#      the build writes it anew.
set -euo pipefail

version=2.0.28
sha256=053b26f5e48d312d4fa27995243f954671be6eece477f150c059c364eb4d7d61
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-$here/durable-rules}"
python="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# pip checks the file against PyPI's published hash; it honours a configured mirror.
echo "durable-rules==$version --hash=sha256:$sha256" > "$work/requirement.txt"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r "$work/requirement.txt" -d "$work"
tar -C "$work" -xzf "$work/durable_rules-$version.tar.gz"
source="$work/durable_rules-$version"

rm -r "$source/PKG-INFO" "$source/libpy/durable_rules.egg-info"
sed -i 's/PyEval_CallObject(/PyObject_CallObject(/g' "$source/src/rulespy/rules.c"
sed -i "s/version = '$version',/version = '$version+luoshi.1',/" "$source/setup.py"
# The release this script knows: anything else stops it rather than vendor a surprise.
[ "$(grep -c 'PyObject_CallObject(' "$source/src/rulespy/rules.c")" = 5 ]
! grep -q 'PyEval_CallObject' "$source/src/rulespy/rules.c"
grep -q "version = '$version+luoshi.1'," "$source/setup.py"

# Replaces the folder: only one that holds durable-rules (or nothing) is ever removed.
if [ -e "$target" ] && ! grep -qs "name = 'durable_rules'," "$target/setup.py"; then
    echo "$target 已存在且不是 durable-rules 的源码，未改动" >&2
    exit 2
fi
rm -rf "$target"
mv "$source" "$target"
echo "已写出 $target（PyPI durable-rules $version 加 luoshi 的修正）" >&2
