"""The bars the layout keeps (README, "Where each idea lives"): short modules and classes (in mtdnn_lite/, scripts/
and benchmarks/), no private name used outside its module, and layers whose imports only run downwards:

    glue  <  core  <  experiments  <  reporting  <  views        (mtdnn_lite/__main__.py, the CLI, on top)

A module may import its own layer and the layers below it, never one above.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mtdnn_lite"
LAYERS = ("glue", "core", "experiments", "reporting", "views")
MAX_MODULE_LINES, MAX_CLASS_LINES = 300, 150
PYTHON_FILES = sorted([*PACKAGE.rglob("*.py"), *(ROOT / "tests").glob("*.py"), *(ROOT / "benchmarks").glob("*.py"),
                       *(ROOT / "scripts").glob("*.py")])


def module_name(path: Path) -> str:
    """mtdnn_lite/core/heads.py → mtdnn_lite.core.heads (a package's __init__.py → the package)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int | None:
    """The rank of `module`'s layer in LAYERS; len(LAYERS) for the package's top (the CLI, __init__)."""
    parts = module.split(".")
    if parts[0] != "mtdnn_lite":
        return None
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module imported, names imported from it) for each import of `path`, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    return found


def is_module(name: str) -> bool:
    parts = name.split(".")
    return (ROOT.joinpath(*parts).with_suffix(".py").is_file() or (ROOT.joinpath(*parts) / "__init__.py").is_file())


def test_layer_folders_exist():
    assert all((PACKAGE / name / "__init__.py").is_file() for name in LAYERS)
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"], \
        "every module lives in one of the layer folders"


@pytest.mark.parametrize("path", [p for p in PYTHON_FILES if p.is_relative_to(PACKAGE)], ids=module_name)
def test_imports_run_downwards(path):
    own = layer(module_name(path))
    upward = []
    for line, module, names in imports(path):
        targets = [module] + [f"{module}.{n}" for n in names if is_module(f"{module}.{n}")]
        upward += [f"line {line}: {t}" for t in targets
                   if layer(t) is not None and layer(t) > own and t != "mtdnn_lite"]
    assert not upward, f"{path.relative_to(ROOT)} imports from a layer above its own: {upward}"


@pytest.mark.parametrize("path", PYTHON_FILES, ids=module_name)
def test_no_private_name_crosses_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    crossing = [f"line {line}: {module}.{name}" for line, module, names in imports(path)
                if module.startswith("mtdnn_lite") for name in names if name.startswith("_")]
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("mtdnn_lite") for alias in node.names
               if is_module(f"{node.module}.{alias.name}")}
    crossing += [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
                 if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                 and node.value.id in modules and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert not crossing, f"{path.relative_to(ROOT)} uses another module's private names: {crossing}"


@pytest.mark.parametrize("path", [p for p in PYTHON_FILES if not p.is_relative_to(ROOT / "tests")], ids=module_name)
def test_modules_and_classes_are_short(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: over {MAX_MODULE_LINES} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES]
    assert not long, f"{path.relative_to(ROOT)}: classes over {MAX_CLASS_LINES} lines: {long}"


def test_package_exports_the_core():
    import mtdnn_lite

    for name in ("MTDNN", "ClassificationHead", "SimilarityHead", "SANHead", "RankingHead", "build_head",
                 "distillation_loss", "epoch_plan", "load_encoder", "train"):
        assert callable(getattr(mtdnn_lite, name)), name
        assert getattr(mtdnn_lite, name).__module__.startswith("mtdnn_lite.core."), name
