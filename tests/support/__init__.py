"""Helpers the test suites share: paths and CI rules, the emulators, the in-process
local stack, metrics and warehouse test data, and the browser suites' page helpers.

Test modules and conftests import from here and never from each other, so that a test
module is only ever loaded by pytest (once, under its own name) and a conftest only
provides fixtures."""
