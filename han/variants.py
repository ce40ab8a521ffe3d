"""The registry of model variants by name: importable without torch (the app's first page needs only names).

han/model.py builds the network of each; a new variant is one entry here and its pooling in the model.
"""

from __future__ import annotations

VARIANTS = {"ave": "HN-AVE", "max": "HN-MAX", "att": "HN-ATT"}  # pooling -> the paper's name, in Table 2's order
