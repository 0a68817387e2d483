"""Sub-commands of the ``fusionbench`` CLI, one module each (discovered by :mod:`fusionbench.cli`)."""
