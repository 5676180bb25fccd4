"""What operators watch: Prometheus metrics, OpenTelemetry traces, the service's status.

Nothing here ever holds a case reference, a value the caller chose or free text: metric labels
come from fixed sets and from the loaded knowledge, span attributes are ids and digests.
"""
