"""The test suite, laid out like the packages: tinytorch/ holds tinytorch's tests, tinygpt/ tinygpt's (a folder per
package with more than one test file; a file named by its package otherwise), conftest.py the shared fixtures and
helpers.py the shared helpers (`from tests.helpers import ...`); faults/ is the fault-injection run."""
