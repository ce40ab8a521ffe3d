"""Checkpoint folders: their files read without torch, save and load, and the Classifier a loaded checkpoint is."""
