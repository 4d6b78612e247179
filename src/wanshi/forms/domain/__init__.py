"""The forms centre's pure rules: the definition document, evaluation and validation of answers."""
