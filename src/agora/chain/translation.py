"""Protobuf <-> domain mapping of the chain service, and nothing else."""

from __future__ import annotations
