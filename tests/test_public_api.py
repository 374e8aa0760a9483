"""The library's public API is declared in ``labelwise.__all__``: nothing leaks, nothing is forgotten."""

import pathlib
import re

import labelwise

SRC = pathlib.Path(labelwise.__file__).parent


def test_all_is_exactly_the_public_names():
    # The names resolve lazily; once all are resolved, nothing else may be public.
    for name in labelwise.__all__:
        getattr(labelwise, name)
    assert set(dir(labelwise)) >= set(labelwise.__all__)
    public = {name for name in vars(labelwise) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(labelwise, name)).__name__ == "module"}
    assert set(labelwise.__all__) - {"__version__"} == public - modules


def test_every_exported_name_resolves():
    for name in labelwise.__all__:
        assert getattr(labelwise, name) is not None


def test_library_never_touches_the_global_numpy_rng():
    pattern = re.compile(
        r"np\.random\.(rand|randn|randint|random|choice|shuffle|permutation|seed)\("
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "_validation.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_importing_the_library_loads_no_heavy_backend():
    code = "import labelwise, sys; print(sorted(m for m in ('torch', 'sentence_transformers', 'matplotlib') if m in sys.modules))"
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_importing_the_library_or_the_store_loads_neither_sklearn_nor_pandas():
    # The CLI and the store import ``labelwise``; its names resolve on first use.
    code = (
        "import labelwise, labelwise.store, sys; "
        "print(sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules))"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert labelwise.Pool.__module__ == "labelwise.data.pool"
