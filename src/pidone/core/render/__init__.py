"""PURE text output: build lines from models, never write them."""
