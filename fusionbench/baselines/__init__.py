"""Classical fusion baselines: GFF, LP, LP-SR (faithful to the authors' code), Mertens, average, max-abs.

Importing this package registers every baseline (the registry imports it lazily on first lookup).
"""
from . import exposure, gff, lp_fusion, lpsr, simple  # noqa: F401  (imported to register)
