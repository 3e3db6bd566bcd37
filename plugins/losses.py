"""Built-in losses."""

import translkit


@translkit.hookimpl
def translkit_register(registry):
    pass
