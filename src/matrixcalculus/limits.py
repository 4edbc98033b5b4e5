"""Configurable limits, so that no input can stall a server or a batch job."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    max_input_length: int = 20_000     # characters
    max_depth: int = 200               # nesting of the syntax tree
    max_ir_nodes: int = 200_000        # nodes in one derivation's IR
    max_order: int = 4                 # derivative order


LIMITS = Limits()
