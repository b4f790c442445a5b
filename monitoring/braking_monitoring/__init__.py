"""Monitoring of served braking models: inference-log collector, drift windows, alarms."""
