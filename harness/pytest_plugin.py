"""The plugin's earlier name, kept so that a conftest naming ``harness.pytest_plugin`` still loads it;
the plugin is :mod:`harness.plugin`."""
pytest_plugins = ["harness.plugin"]
