"""Hyperparameter-tuned training, ONNX export, validation gate and reports."""
