"""tickets: the pruning domain (models, datasets, training, masks, ratio rules, scorers, methods,
sanity checks) and the command line. Heavy imports (torch) happen inside the modules that need
them, never here, so `tickets --help` stays instant."""

__version__ = "0.1.0"
