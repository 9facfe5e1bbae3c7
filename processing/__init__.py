"""Processing provider and algorithms: thin callers of the engine in ``core``."""
