"""Physics-grounded synthetic sensor data for the braking model."""
