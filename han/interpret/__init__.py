"""What the model attends to and whether that is faithful: rendering, attribution, faithfulness, counterfactuals,
polarity, focus, statistics.
"""
