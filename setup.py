"""Map the user's top-level folders under the `cir` import root.

dialects/ -> cir.dialects, passes/ -> cir.passes, lowering/ -> cir.lowering,
runtime/ -> cir.runtime; cir/ is cir itself.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
FOLDERS = {"cir": "cir", "cir.dialects": "dialects", "cir.passes": "passes",
           "cir.lowering": "lowering", "cir.runtime": "runtime"}


def packages() -> list[str]:
    found = []
    for pkg, folder in FOLDERS.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / folder)
            found.append(".".join([pkg, *rel.parts]))
    return found


setup(packages=packages(), package_dir=FOLDERS)
