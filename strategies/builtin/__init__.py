"""Built-in strategies, one module each; listed (and imported lazily) by :mod:`strategies.registry`."""
