"""Numerics: exact quadrature kernels, the divergence registry, Monte-Carlo forms and the optimal-q search.

Pure NumPy/SciPy/numba on arrays and duck-typed (weights, means, sigmas) targets; imports nothing else of klpanel.
"""
