"""circ's applications, built on the core (``cir``) and the compiler layers above it.

``frontend`` (import a framework model), ``pipeline`` (pass pipelines by name), ``package``
(``cir.compile``: a model to a package), ``report``, ``serve``, ``demo`` and the command-line
``tools``. Nothing below this package imports it.
"""
