"""The admin service: content management (content_*.py), … Its anatomy is
docs/service-anatomy.md's."""
