"""The computation engine of the plugin: GUI-free, with plain inputs and outputs.

Everything a figure depends on lives here: reading layers into arrays (one I/O
seam), validation (one entry point), the overlay into atomic pieces, ellipsoidal
areas, 三调 statistics, indicators and the ruleset evaluator. Processing
algorithms, the dock panel and the exporter only call into this package, so
they can never disagree.
"""
