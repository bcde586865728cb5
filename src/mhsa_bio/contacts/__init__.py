"""Residue contacts: sequence weights, factored attention and Potts fits, read-out, evaluation."""
