"""Release steps: register the gated model in the Model Registry and deploy it."""
