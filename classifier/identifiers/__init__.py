"""Chinese identifiers, one module per entity, with a small python-stdnum-like API.

Each module offers ``CORE`` (the accepted written forms as a regex that RE2 and Python both read),
``compact(text)`` (the bare identifier), ``is_valid(text)`` (scalar, any accepted form) and
``valid_many(values)`` (vectorised over an Arrow array of compacted values). Classification,
masking (:mod:`crypto.shapes`) and free-text span search all use these, so a shape is written once.
Reference tables are generated at first use from python-stdnum and phonenumbers, never fetched.
"""
