"""The clearing report: a PDF the supervisor signs."""
