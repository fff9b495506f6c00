"""The installed version of luoshi, recorded with every load and run and printed in outputs."""

from __future__ import annotations

from importlib import metadata


def tool_version() -> str:
    try:
        return metadata.version("luoshi")
    except metadata.PackageNotFoundError:
        return "0+unknown"
