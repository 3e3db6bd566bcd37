"""translkit's built-in plugins (installed as ``translkit_plugins``).

Each module registers its components through the ``translkit_register`` hook and is
listed under the ``translkit`` entry-point group in ``pyproject.toml``, exactly as a
third party's plugin is.
"""
