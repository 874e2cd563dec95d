"""Build hook: compile every gettext catalog (.po) into the wheel's .mo, with the standard library.

An editable install needs none: a source checkout compiles the .po in memory when it loads it
(wxbudget.catalog.compile_source), so an edited .po is never shadowed by a stale .mo.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        # wxbudget.catalog is standard library only; loaded by path, the package need not import.
        spec = importlib.util.spec_from_file_location("_catalog", root / "wxbudget" / "catalog.py")
        if spec is None or spec.loader is None:
            raise RuntimeError("wxbudget/catalog.py cannot be loaded")
        catalog = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = catalog  # dataclasses look their module up while defining
        spec.loader.exec_module(catalog)
        self._output = Path(tempfile.mkdtemp(prefix="wxbudget-mo-"))
        for source in sorted((root / "wxbudget" / "locale").glob("*/LC_MESSAGES/*.po")):
            entries = catalog.parse_po(source.read_text(encoding="utf-8"))
            compiled = self._output / source.relative_to(root).with_suffix(".mo")
            compiled.parent.mkdir(parents=True, exist_ok=True)
            compiled.write_bytes(catalog.compile_mo(entries))
            build_data["force_include"][str(compiled)] = str(
                source.relative_to(root).with_suffix(".mo")
            )

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        output = getattr(self, "_output", None)
        if output is not None:
            shutil.rmtree(output, ignore_errors=True)
