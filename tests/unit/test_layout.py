"""The README's Layout table matches the repository: nothing named is missing, nothing present is unnamed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support import ROOT

# Package roots: a module in one of them is covered only by its own name or a sub-folder named in the table
# (naming the root itself would cover everything and say nothing).
PACKAGE_ROOTS = ("layers/miniauth/miniauth/", "sdk/miniauth_sdk/", "tools/miniauth_tools/")


def layout_paths(readme: str) -> list[str]:
    """The paths in the first column of the Layout table; an indented one is inside the last folder above it."""
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    paths: list[str] = []
    folder = ""
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        for named in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if named.startswith(" "):
                assert folder, f"{named!r} is indented below no folder"
                paths.append(folder + named.strip())
            else:
                paths.append(named)
                folder = named if named.endswith("/") else folder
    return paths


def tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [path for path in listed if (ROOT / path).exists()]


def matches(named: str) -> list[Path]:
    """A named path, `<placeholder>` standing for any one name."""
    pattern = re.sub(r"<[^>]+>", "*", named.rstrip("/"))
    return [p for p in ROOT.glob(pattern) if p.is_dir() == named.endswith("/") or not named.endswith("/")]


def covered(path: str, named: list[str]) -> bool:
    for name in named:
        pattern = re.sub(r"<[^>]+>", "[^/]+", re.escape(name).replace(r"\<", "<").replace(r"\>", ">"))
        if re.fullmatch(pattern, path):
            return True
        if name.endswith("/") and name not in PACKAGE_ROOTS and re.match(pattern, path):
            return True
    return False


NAMED = layout_paths((ROOT / "README.md").read_text())


def test_the_table_names_paths() -> None:
    assert len(NAMED) > 20 and "template.yaml" in NAMED


def test_every_named_path_exists() -> None:
    missing = [name for name in NAMED if not matches(name)]
    assert missing == [], f"the README's Layout names paths that do not exist: {missing}"


def test_every_top_level_folder_is_named() -> None:
    folders = sorted({path.split("/", 1)[0] for path in tracked() if "/" in path})
    unnamed = [folder for folder in folders if not any(name.startswith(folder + "/") for name in NAMED)]
    assert unnamed == [], f"top-level folders missing from the README's Layout: {unnamed}"


def test_every_module_of_the_three_packages_is_named() -> None:
    modules = [path for path in tracked() if path.startswith(PACKAGE_ROOTS) and path.endswith(".py")]
    assert len(modules) > 40
    roots_init = {root + "__init__.py" for root in PACKAGE_ROOTS}
    unnamed = [path for path in modules if path not in roots_init and not covered(path, NAMED)]
    assert unnamed == [], f"modules missing from the README's Layout (name them or their folder): {unnamed}"


def test_the_check_itself_sees_a_gap() -> None:
    """Without its row, a module is reported: the coverage rule does not let the package roots cover it."""
    without = [name for name in NAMED if not name.endswith("/runtime.py")]
    assert not covered("layers/miniauth/miniauth/runtime.py", without)
    assert covered("layers/miniauth/miniauth/domain/tokens.py", NAMED)
    assert covered("functions/apply_token/app.py", NAMED)
