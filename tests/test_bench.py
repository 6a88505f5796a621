"""The benchmark script measures StoryHub as installed: with its bytecode compiled."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import storyhub

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench", SCRIPTS / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_compile_plugin_writes_the_bytecode_the_builds_read():
    package = Path(storyhub.__file__).parent
    compiled = [Path(importlib.util.cache_from_source(str(source)))
                for source in package.glob("*.py")]
    for path in compiled:
        path.unlink(missing_ok=True)

    folder = _bench_module().compile_plugin()

    assert folder == package
    missing = [path.name for path in compiled if not path.is_file()]
    assert not missing, f"no bytecode for {missing}"
