"""An example fusionbench plugin: one algorithm (``laplacian-energy``) and one metric (``EN-GAIN``).

Nothing here is imported by fusionbench itself: the package's entry points (see ``pyproject.toml``)
name the two modules, and fusionbench imports them the first time it looks a name up.
"""

__version__ = "0.1.0"
