"""Built-in generators."""

import translkit


@translkit.hookimpl
def translkit_register(registry):
    pass
