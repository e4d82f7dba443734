"""dialplan: plan tomorrow's outbound collection calls, legally and for the most expected recovery."""

__version__ = "0.1.0"
