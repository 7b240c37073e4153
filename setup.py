"""Build step: the YARA rules travel inside the package.

`yara_rules/` at the top of the checkout stays the source; building (`pip install .`, `--user`, a wheel
from `python -m build`) copies its rule files into the package as `explorer/yara_rules/`, read with
`importlib.resources` (explorer.detectors.yara_scan). An editable install reads the checkout's folder.
Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "yara_rules"


class BuildPyWithRules(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "explorer" / "yara_rules"
        target.mkdir(parents=True, exist_ok=True)
        for rule in sorted(SOURCE.glob("*.yar")):
            shutil.copyfile(rule, target / rule.name)


setup(cmdclass={"build_py": BuildPyWithRules})
