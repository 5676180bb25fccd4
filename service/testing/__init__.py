"""What the tests and the benchmark use to hold the service to account: the plain-Python
reference evaluation (the oracle) and synthetic cases. The service never imports this package
(a test walks the imports), and it is left out of the installed package."""
