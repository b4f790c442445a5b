"""The embedded stack: the Model Registry and the inference server as local background services."""
