"""Models from the Hugging Face Hub: the ``hf://`` source and what it needs.

Only ``client`` imports ``huggingface_hub`` (an optional dependency: ``pip install 'modelrt-core[hub]'``),
and only when a Hub model is opened, so ``import modelrt`` and local loads never pay for it.
"""
