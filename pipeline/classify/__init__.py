"""Classification heads: sentiment, complaint type, relevance, blame."""
