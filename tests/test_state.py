"""ui/data.py: what the one caching layer promises beyond the pages' own tests."""

from __future__ import annotations

import gc
import sys
import types

from ui.data import freeze_long_lived


def test_freeze_runs_once_per_new_import():
    """After a freeze, objects made later stay collectable until a new module is imported."""
    freeze_long_lived()
    frozen = gc.get_freeze_count()
    later = [[] for _ in range(1000)]  # tracked containers made after the freeze
    freeze_long_lived()  # no new module: nothing more is frozen
    assert gc.get_freeze_count() == frozen
    name = "_lens_test_fresh_module"
    sys.modules[name] = types.ModuleType(name)
    try:
        freeze_long_lived()  # a new import: what is alive now is frozen too
        assert gc.get_freeze_count() >= frozen + len(later)
    finally:
        del sys.modules[name]
