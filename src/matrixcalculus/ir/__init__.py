"""One tensor IR: hash-consed nodes (nodes.py) built only through canonicalising
constructors (build.py)."""
