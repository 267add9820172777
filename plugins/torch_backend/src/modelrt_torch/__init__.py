"""modelrt's PyTorch backend: exported programs, TorchScript and (opted-in) pickled modules."""

__version__ = "0.2.0"
