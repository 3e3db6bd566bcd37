"""Built-in metrics."""

import translkit


@translkit.hookimpl
def translkit_register(registry):
    pass
