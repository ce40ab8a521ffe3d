"""The experiments behind RESULTS.md, one module per family; `python scripts/reproduce.py STEP` runs them.

common: data sets, run folders, training once and collecting runs; recipes, recipes_report, search_report: the
default recipe's search and tables; investigation: why HN-ATT is not ahead on Yelp; successors and focus: CAHAN and
multi-head; faithfulness: the shipped checkpoints' faithfulness files; bench: the speed and memory benchmarks.
"""
