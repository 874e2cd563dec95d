"""The single source of the version (hatch reads it from here).

A literal, not importlib.metadata: that import alone costs ~40 ms of every start-up. A module of
its own so that code inside the package never imports the package's `__init__`.
"""

__version__ = "0.1.0"
