"""Agora: an open-source commerce platform of Python microservices."""

__version__ = "0.1.0"
