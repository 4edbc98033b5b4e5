"""The input language: grammar, parser, declarations and shape inference."""
