"""Bridges from cubie_hash to the tools its users already run.

* :mod:`cubie_hash.integrations.cubie` — CuBIE 0.17's systems as input (``ParsedSystem``,
  ``SpecialisedSystem``, their IR equation lists) and a canonical front door,
  ``create_ODE_system``, that gives every input form of one system one CuBIE cache entry.
  Install with the extra ``cubie-hash[cubie]``; nothing imports CuBIE until a CuBIE object
  is handed in or the front door is called.
"""
