"""Product code never imports torch or transformers: every module of both packages imports with them blocked."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
sys.modules["torch"] = None
sys.modules["transformers"] = None
import tinygpt, tinytorch
for package in (tinytorch, tinygpt):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print("ok")
"""


def test_every_module_imports_without_torch_or_transformers():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
