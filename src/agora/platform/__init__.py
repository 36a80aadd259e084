"""Shared mechanics every Agora service stands on."""
