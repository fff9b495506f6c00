"""Facts: the data units submit, its model, its readers, its validation and its store."""
