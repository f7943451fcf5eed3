"""The contract suite as pytest tests: the plugin ``mews_loyalty.contract.pytest_plugin`` does the work.

    pytest contract_tests --api connector --base-url URL --client-token X --access-token Y [--allow-writes]
    pytest contract_tests --api reverse --base-url URL --token T [--token T2]

An installed ``mews-loyalty[contract]`` registers the plugin (a ``pytest11`` entry point); where plugin
autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) this conftest names it.
"""

import os

pytest_plugins = (
    ["mews_loyalty.contract.pytest_plugin"] if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") else []
)
