"""Reading documents: file readers, tokenising, the vocabulary, splits, the token store and its writer, batches."""
