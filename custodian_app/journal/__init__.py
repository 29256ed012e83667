"""The ATM's own records, read without anything installed on the ATM: electronic journals
(text, one dialect per ATM application, described as data) and FSN banknote serial files.

    read_journals(paths, fsn_dir, dialect, accept_gaps=False, progress=None) -> JournalRead

gives an ``atm-ledger/1`` document (``JournalRead.ledger``), the journal lines no rule
describes (``gaps``, each with file and line) and how many notes could not be tied to a
transaction. See docs/journals.md.
"""

from custodian_app.journal.dialect import Dialect, available_dialects, load_dialect
from custodian_app.journal.ej import Gap
from custodian_app.journal.errors import JournalError
from custodian_app.journal.ledger import JournalGapsError, JournalRead, read_journals

__all__ = [
    "Dialect",
    "Gap",
    "JournalError",
    "JournalGapsError",
    "JournalRead",
    "available_dialects",
    "load_dialect",
    "read_journals",
]
