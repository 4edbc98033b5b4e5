"""IR -> standalone NumPy / PyTorch / JAX source (one public function per module, its
parameters keyword-only: codegen/signature.py)."""

from .emit import BACKENDS, generate
from .signature import CHECK, Doc, Names, parameter_names

__all__ = ["BACKENDS", "CHECK", "Doc", "Names", "generate", "parameter_names"]
