# Hands pytest the YAML case collector (harness.plugin); everything else lives in harness/.
pytest_plugins = ["harness.plugin"]
