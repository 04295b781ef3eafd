"""Telemetry served from files: the Nezha dataset layout and a documented generic layout (see ``generic``)."""

from __future__ import annotations

from pathlib import Path

from tracehound.connectors.files.config import FilesConfig
from tracehound.connectors.files.generic import build_generic_sources
from tracehound.connectors.files.nezha import build_nezha_sources
from tracehound.engine.ports import Sources


def build_files_sources(config: FilesConfig) -> Sources:
    """The sources a validated :class:`FilesConfig` describes."""
    root = Path(config.path)
    if config.layout == "nezha":
        case = config.nezha_case()
        return build_nezha_sources(root, config.nezha_date(), horizon=case.horizon if case else None)
    gcase = config.generic_case()
    if gcase is None:
        return build_generic_sources(root, sep=config.separator)
    return build_generic_sources(gcase.folder, root=root, sep=config.separator)


__all__ = ["FilesConfig", "build_files_sources"]
