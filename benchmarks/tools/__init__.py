"""Scripts that run inside the tools' own virtual environments (see ``benchmarks/envs.py``).

They import neither ``modelrt`` nor ``benchmarks``: each is run by path with another interpreter.
"""
