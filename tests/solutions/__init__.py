"""The reference implementation (solutions/) against torch."""
