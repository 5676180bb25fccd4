"""The condition language of knowledge packs: one operator table, and everything that reads it.

``operators`` says what each test means; ``tree`` is a parsed condition; ``parse`` reads the
written form; ``check`` fits a condition to the fact vocabulary; ``reference`` is the plain
reading (the oracle); ``words`` says a condition in words; ``python`` writes it as Python.
"""
