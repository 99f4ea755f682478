"""Whether Flux has done what was asked: the verdict of a Flux object for its current generation
(verdict.py, pure) and the one loop every wait of the project runs on it (wait.py)."""
