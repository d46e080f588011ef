"""Metrics: monthly figures and the openness index per leader, from the stored labels."""
