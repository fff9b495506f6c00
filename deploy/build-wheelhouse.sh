#!/usr/bin/env bash
# Build a wheelhouse: luoshi and every package it needs, the portal's included,
# as wheel files in one folder, to carry to an intranet server without internet access and
# install there with
#
#     python3 -m venv /opt/luoshi/venv
#     /opt/luoshi/venv/bin/pip install --no-index --find-links WHEELHOUSE luoshi
#
# Run it on a machine with internet access and the SAME operating system, processor and Python
# minor version as the server (wheels of compiled packages — durable-rules, pydantic-core,
# psycopg-binary, argon2-cffi-bindings — only fit those). See docs/deploy.md.
#
#     deploy/build-wheelhouse.sh [OUT_DIR]        (default: ./wheelhouse)
#     PYTHON=python3.12 deploy/build-wheelhouse.sh  (another Python)
#
# The rules engine durable-rules is compiled here into a wheel from third_party/durable-rules
# (PyPI's 2.0.28 with the fix Python 3.13 needs): a C compiler and the Python headers are
# needed on this machine, never on the server. Every other package is downloaded, or taken
# from pip's cache. The folder gets SHA256SUMS and BUILD-INFO.txt (where and for what it was
# built) beside the wheels.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-wheelhouse}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null; then
    echo "找不到 $python：用 PYTHON=… 指定与服务器相同版本的 Python" >&2
    exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# A throwaway venv, so that the build needs no pip installed system-wide and leaves nothing.
builder="$(mktemp -d)"
trap 'rm -rf "$builder"' EXIT
"$python" -m venv "$builder/venv"

# luoshi and the engine are built from a clean copy of what they are made of (pyproject's
# package folders, the engine's source): a build/ left in the checkout by an earlier build would
# put modules deleted since into the wheel.
folders="$("$python" -c 'import sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))["tool"]["setuptools"]
print(" ".join(sorted(set(config["package-dir"].values()))))' "$repo/pyproject.toml")"
mkdir "$builder/src"
# shellcheck disable=SC2086  # the folder names are one word each
tar -C "$repo" --exclude=__pycache__ --exclude=third_party/durable-rules/build \
    --exclude='*.egg-info' -cf - pyproject.toml README.md $folders third_party/durable-rules \
    | tar -C "$builder/src" -xf -

# `pip wheel` resolves luoshi as `pip install` would, with the engine from its source,
# downloads each other wheel (or builds it from source), and writes them all, luoshi's own
# included, into $out.
"$builder/venv/bin/python" -m pip wheel --disable-pip-version-check \
    --wheel-dir "$out" "$builder/src/third_party/durable-rules" "$builder/src"

cd "$out"
sha256sum -- *.whl > SHA256SUMS
{
    echo "luoshi wheelhouse, built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    "$builder/venv/bin/python" -c 'import platform, sys, sysconfig
print("python", platform.python_version(), sys.implementation.name)
print("platform", sysconfig.get_platform(), platform.libc_ver()[0], platform.libc_ver()[1])'
    if [ -r /etc/os-release ]; then . /etc/os-release && echo "os $PRETTY_NAME"; fi
    echo "install: python3 -m venv VENV && VENV/bin/pip install --no-index --find-links $(basename "$out") luoshi"
} > BUILD-INFO.txt
count="$(ls -1 -- *.whl | wc -l)"
size="$(du -sh . | cut -f1)"
echo "已写出 $out：$count 个 wheel，共 $size（SHA256SUMS、BUILD-INFO.txt 在同一文件夹）" >&2
