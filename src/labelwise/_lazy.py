"""Package names that resolve on first use (PEP 562).

``import labelwise`` (or ``labelwise.store``) must stay light so the CLI's ``--help``
loads no scikit-learn, pandas or SQLAlchemy; each package maps its public names to the
module defining them and imports that module only when a name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``, for the error message.
    names : Mapping[str, str]
        Public name → the module that defines it.
    namespace : dict
        The package's ``globals()``: a resolved name is stored there, so later lookups
        skip the hook.
    """

    def __getattr__(name: str) -> Any:
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
