"""IR -> standalone NumPy / PyTorch / JAX source (one public function per module)."""

from .emit import BACKENDS, generate

__all__ = ["BACKENDS", "generate"]
