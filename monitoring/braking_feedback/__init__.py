"""Feedback from monitoring to training: the retraining trigger, champion/challenger
promotion on the registry, rollback, and the closed loop. Sits above braking_pipelines (it
starts pipeline runs), so only the CLI imports it; the collector never does."""
