"""placeholder while being written."""
