"""Import gradio without its type-stub writer (2 of the ~3.6 s gradio import here).

On every import, gradio's component metaclass rewrites the ``.pyi`` type stubs of each
component class inside gradio's own installation (``gradio.component_meta.
create_or_modify_pyi``: read the class's source file, parse it, render a template, parse
the stub, write it back when it differs). That is an aid for gradio's authors and their
editors; the running app never reads the stubs. A finder on ``sys.meta_path`` replaces the
function with a no-op as soon as ``gradio.component_meta`` has executed, before the first
component class is created. Nothing else of gradio changes; on a gradio without that
function, or when gradio is already imported, nothing happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

_MODULE = "gradio.component_meta"
_WRITER = "create_or_modify_pyi"


def _write_no_stubs(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for gradio's stub writer: the app needs no type stubs."""


class _Loader(importlib.abc.Loader):
    """gradio.component_meta's own loader, then the stub writer swapped out."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if hasattr(module, _WRITER):
            setattr(module, _WRITER, _write_no_stubs)
            log.debug("gradio's .pyi stub writer is off for this process")

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for tracebacks
        if name == "_loader":  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta the normal way and hands it to ``_Loader``, once."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MODULE:
            return None
        uninstall()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Turn gradio's stub writer off for this process (no-op once gradio is imported)."""
    if _MODULE in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())


def uninstall() -> None:
    """Remove the finder (it removes itself when gradio.component_meta is found)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
