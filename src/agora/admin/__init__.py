"""The admin service: pages. Its anatomy is docs/service-anatomy.md's."""
