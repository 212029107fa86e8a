"""Running the service: health and metrics routes, logs, background tasks, workers, burst handling."""
