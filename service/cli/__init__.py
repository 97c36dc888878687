"""The command line: `flowpilot-analytics` (or `python main.py`), one module per command."""
