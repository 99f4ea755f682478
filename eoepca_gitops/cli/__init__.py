"""Thin commands over the model and the manifest builders: parse, validate, do I/O, print."""
