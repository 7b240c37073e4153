"""explorer: an image layer forensic explorer."""

__version__ = "0.1.0"
