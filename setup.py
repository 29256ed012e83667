"""The C part of the build: the ledgers' scanner (custodian_app/domain/_ledgerscan.c).

Everything else is declared in pyproject.toml. The extension is optional: on a machine
without a C compiler the package still installs, and the readers and the engine take their
pure-Python paths (same results, slower; `custodian-app diagnostics` says which is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "custodian_app.domain._ledgerscan",
            sources=["custodian_app/domain/_ledgerscan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
