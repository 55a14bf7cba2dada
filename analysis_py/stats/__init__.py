"""Pure statistics on sufficient statistics: numpy and scipy only (no pandas), no I/O.

Every function is vectorised over comparisons (each argument one comparison or an array of
many) and documents its method, hypotheses and reference.
"""
