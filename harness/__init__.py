"""The VFIO harness: core model, scenario language, interpreter, CLI and pytest plugin."""
