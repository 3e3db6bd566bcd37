"""Built-in discriminators."""

import translkit


@translkit.hookimpl
def translkit_register(registry):
    pass
