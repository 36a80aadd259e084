"""The support service: supports. Its anatomy is docs/service-anatomy.md's."""
