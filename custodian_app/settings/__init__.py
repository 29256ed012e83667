"""The settings: the keys and their rules, the files they live in, where data goes."""
