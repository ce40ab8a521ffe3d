"""Training: the loop, its config, optimisers and schedules, recipes, resume, distributed runs, word vectors,
baselines.
"""
