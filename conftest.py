# Hands pytest the YAML case collector; everything else lives in harness/.
pytest_plugins = ["harness.pytest_plugin"]
