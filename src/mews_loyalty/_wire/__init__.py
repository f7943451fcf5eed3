"""What goes on the wire: arguments to validated JSON bytes (``encode``), answers to typed results
(``decode``), the rules the generated models cannot hold (string ``formats``, property ``combinations``),
and the ``nesting`` depth past which every server refuses a request body."""
