"""freepik-mock's benchmarks: the fake side by side with Stoplight Prism and a bare
Starlette app, plus what matters beyond the socket. Run ``python -m benchmarks``
(or ``--quick`` for a check of the harness in well under a minute).
"""
