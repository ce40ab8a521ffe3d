"""The networks: the bidirectional GRU, pooling (attention, average, max, heads), CAHAN, the HAN model, the variant
registry.
"""
