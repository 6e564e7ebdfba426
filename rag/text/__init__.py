"""Text utilities every step shares: question language, German terms, sentence splitting."""
