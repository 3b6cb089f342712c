"""groundswell: social-media incident-sentiment analytics."""
