"""The support service: the support assistant and the recommendations. Its anatomy is
docs/service-anatomy.md's."""
