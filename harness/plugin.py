"""The pytest plugin (registered through the `pytest11` entry point). Placeholder: no hooks yet."""
