"""The Ray Serve layer: the only part of the kit that imports ``ray``."""
