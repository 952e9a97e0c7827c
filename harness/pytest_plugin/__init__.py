"""The pytest plugin: the only package of the project that imports pytest.

`plugin` is the entry module (`pytest11: vfio`): options, configuration, collection. `items`
holds the collected nodes, `outcomes` turns a verdict into pytest's outcome, `junit` the junit
properties, `summary` the terminal summary, `context` the per-run state. What the CLI shares
with the plugin (runner, options, discovery, tags, rendering) lives at the top of `harness/`.
"""
