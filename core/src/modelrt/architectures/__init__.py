"""Built-in architectures: they turn images into tensors and tensors into results."""
