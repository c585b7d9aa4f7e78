"""Markdown report with PNG plots, rendered from a verification record and the result store."""
