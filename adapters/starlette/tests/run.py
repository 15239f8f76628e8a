"""Runs the Starlette adapter's tests against a real PostgreSQL with the extension.

    . target/test.env && $VAREL_PYTHON adapters/starlette/tests/run.py

VAREL_ADAPTERS_DSN names the database (libpq key=value); `make test-env` writes it.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python-core"))

if __name__ == "__main__":
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=os.path.dirname(HERE))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
