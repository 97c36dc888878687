"""What a running service tells its operators: logs, metrics and traces."""
