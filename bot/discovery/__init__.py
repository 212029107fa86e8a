"""Finding what to run: the /zap grammar, plain-English guesses, look-ups, shortcuts, the form."""
