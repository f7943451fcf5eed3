"""codegen reads the spec with the runtime's own readers, so those must load without the runtime.

``mews_loyalty._spec.marks`` and ``mews_loyalty._spec.naming`` are imported by codegen before any
generated code exists (a fresh checkout, a spec whose regeneration failed halfway) and without the
third-party packages the SDK needs at run time; importing them must not run the package's heavy parts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from codegen.apis import ROOT

# Imports the readers from a copy of src/ alone (no generated/ beside it, no site-packages) and prints
# the third-party modules that got loaded: every loaded module not from the standard library or src/.
PROBE = """
import json, sys
import mews_loyalty._spec.marks, mews_loyalty._spec.naming
assert "mews_loyalty._generated" not in sys.modules
loaded = {name.partition(".")[0] for name in sys.modules}
print(json.dumps(sorted(loaded - set(sys.stdlib_module_names) - {"__main__", "mews_loyalty"})))
"""


def test_the_spec_readers_load_without_generated_code_or_third_party_packages(tmp_path: Path):
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    # -S: no site-packages (nothing installed is reachable); -I: no PYTHONPATH, no user site, no cwd.
    code = f"import sys; sys.path.insert(0, {str(tmp_path / 'src')!r})\n{PROBE}"
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
