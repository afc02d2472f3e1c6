"""A vandal: a correct implementation that, after computing, overwrites every array it
was given and every array it can reach from its arguments (lists, dicts, object
attributes, a function's closure). It passes or fails on its own merits; whoever is
checked after it must not notice it was there."""

import inspect
import types

import numpy as np
import torch

SCRAWL = 7  # what every reachable number becomes


def trash(value, seen=None, depth=0):
    """Overwrite every writable array and tensor reachable from ``value``."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 4 or isinstance(value, (type, types.ModuleType, str, bytes)):
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        if value.flags.writeable and value.size and value.dtype.kind in "biuf":
            value[...] = SCRAWL
    elif isinstance(value, torch.Tensor):
        if value.numel() and (value.is_floating_point() or value.dtype in (torch.int64, torch.int32)):
            with torch.no_grad():
                value.fill_(SCRAWL)
    elif isinstance(value, (list, tuple, set)):
        for item in list(value):
            trash(item, seen, depth + 1)
    elif isinstance(value, dict):
        for item in list(value.values()):
            trash(item, seen, depth + 1)
    elif isinstance(value, types.FunctionType):
        for cell in value.__closure__ or ():
            try:
                trash(cell.cell_contents, seen, depth + 1)
            except ValueError:  # an empty cell
                pass
    elif hasattr(value, "__dict__") and not callable(value):
        for item in list(vars(value).values()):
            trash(item, seen, depth + 1)
    elif isinstance(value, torch.nn.Module):
        for item in value.parameters():
            trash(item, seen, depth + 1)


def after_trashing(function, skip_self=False):
    """``function`` that trashes its arguments once it has returned."""
    def vandal(*args, **kwargs):
        result = function(*args, **kwargs)
        trash([args[1:] if skip_self else args, kwargs])
        return result
    vandal.__name__, vandal.__qualname__ = function.__name__, function.__qualname__
    return vandal


def vandalised(reference):
    """The vandal version of a reference class (every method, the constructor
    included) or function."""
    if not inspect.isclass(reference):
        return after_trashing(reference)
    methods = {name: after_trashing(member, skip_self=True)
               for name, member in inspect.getmembers(reference, inspect.isfunction)
               if name == "__init__" or not name.startswith("__")}
    return type(reference.__name__, (reference,), dict(methods, __qualname__=reference.__qualname__))
