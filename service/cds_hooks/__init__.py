"""The guidance as HL7 CDS Hooks: discovery, a service call answered with cards, feedback.

One CDS service per loaded pack, over the same strict decoding, evaluation and audit trail as
the REST API (``/v1``). Written to CDS Hooks 2.0, with what the 3.0 ballot adds where it helps
integrators (a suggestion with a uuid to accept, coded override reasons).
"""
