"""ipdash: performance assessment and supervision of patent administrative enforcement."""

__version__ = "0.1.0"
