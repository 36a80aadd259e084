"""Content's Markdown rendering: the platform's, so the admin pages' preview renders the same."""

from agora.platform.markdown import render_markdown

__all__ = ["render_markdown"]
