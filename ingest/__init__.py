"""Loading into the catalogue: the demo archive generator, DIMAP readers and harvesters."""
