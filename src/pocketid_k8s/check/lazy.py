"""What is worked out only when first needed: modules imported when first used (PyYAML for
the check, whose fast reader (yaml-rs) reads most sets without it: importing it costs ~10 ms,
compiling PyYAML's patterns a twelfth of a check of the bundle), and attributes computed when
first read (:class:`cached`)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


def module(name: str) -> ModuleType:
    """``name``, imported now if it already is, else when an attribute of it is first read
    (the standard library's LazyLoader)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:  # not installed: the import's own error, now
        return importlib.import_module(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    found = importlib.util.module_from_spec(spec)
    sys.modules[name] = found
    loader.exec_module(found)
    return found


class cached(Generic[T]):
    """functools.cached_property without its lock: an attribute computed when first read and
    kept in the instance's ``__dict__``, which later reads find before this descriptor.

    Python 3.11's cached_property takes one lock, shared by every instance of the class, at
    each first read (3.12 dropped it: it never made the computation run once across threads);
    a check of 10,000 objects reads some 80,000 such attributes once each. Like 3.12's, this
    one may compute a value twice when two threads read it first at once: the check's objects
    are built and read by one thread.
    """

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value
