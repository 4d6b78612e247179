"""Wanshi (皖事): open-source digital-government platform."""

__version__ = "0.1.0"
